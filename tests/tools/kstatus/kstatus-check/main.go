// Command kstatus-check reads one Kubernetes object (JSON or YAML) on stdin and
// prints the status computed by sigs.k8s.io/cli-utils/pkg/kstatus/status as JSON:
//
//	{"status":"Current","message":"Resource is current","conditions":[...]}
//
// status is one of InProgress, Failed, Current, Terminating, NotFound, Unknown.
// Exit code: 0 when computed (whatever the status), 1 on bad input.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus-check:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	raw, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	js, err := yaml.YAMLToJSON(raw) // JSON is valid YAML, so this accepts both
	if err != nil {
		return fmt.Errorf("parse input: %w", err)
	}
	// Unstructured's decoder keeps integers as int64, which kstatus requires.
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		return fmt.Errorf("input is not one Kubernetes object: %w", err)
	}
	res, err := status.Compute(obj)
	if err != nil {
		return err
	}
	conds := res.Conditions
	if conds == nil {
		conds = []status.Condition{}
	}
	return json.NewEncoder(out).Encode(map[string]any{
		"status":     res.Status.String(),
		"message":    res.Message,
		"conditions": conds,
	})
}
