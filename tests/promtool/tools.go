//go:build tools

// Package tools pins Prometheus' promtool (a test tool: `promtool check metrics` on the controller's
// /metrics, `promtool check rules` on the chart's PrometheusRule). Built by build.sh, never shipped.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
