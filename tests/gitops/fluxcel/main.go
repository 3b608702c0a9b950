// Command fluxcel evaluates Flux kustomize-controller healthCheckExprs against one object (JSON on
// stdin) the way Flux does (github.com/fluxcd/pkg/runtime/cel StatusEvaluator, RFC 0009), and prints
// InProgress, Failed, Current or "Error: <message>".
//
// Re-implemented here (same cel-go environment options and evaluation order) because fluxcd/pkg is
// not in the offline module set:
//  1. status.observedGeneration present and != metadata.generation -> InProgress
//  2. inProgress, failed, current expressions in that order; the first true wins
//  3. none true -> InProgress
//
// Usage: fluxcel -current EXPR [-failed EXPR] [-in-progress EXPR] < object.json
//
//	fluxcel -kustomization deploy/flux/healthcheck-example.yaml < object.json
//	(takes the healthCheckExprs entry whose apiVersion and kind match the object)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"go.yaml.in/yaml/v3"
)

type healthCheck struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Current    string `yaml:"current"`
	Failed     string `yaml:"failed"`
	InProgress string `yaml:"inProgress"`
}

// fromKustomization returns the healthCheckExprs entry of a Kustomization file for apiVersion/kind.
func fromKustomization(path, apiVersion, kind string) (*healthCheck, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var k struct {
		Kind string `yaml:"kind"`
		Spec struct {
			HealthCheckExprs []healthCheck `yaml:"healthCheckExprs"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if k.Kind != "Kustomization" {
		return nil, fmt.Errorf("%s: kind %q, want Kustomization", path, k.Kind)
	}
	for i := range k.Spec.HealthCheckExprs {
		h := &k.Spec.HealthCheckExprs[i]
		if h.APIVersion == apiVersion && h.Kind == kind {
			return h, nil
		}
	}
	return nil, fmt.Errorf("%s: no healthCheckExprs entry for %s %s", path, apiVersion, kind)
}

func program(expr string) (cel.Program, error) {
	env, err := cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	)
	if err != nil {
		return nil, err
	}
	// Flux parses without type-checking: variables are the object's top-level fields.
	ast, iss := env.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("parse %q: %s", expr, iss.String())
	}
	return env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.InterruptCheckFrequency(100))
}

func main() {
	current := flag.String("current", "", "current expression (required)")
	failed := flag.String("failed", "", "failed expression")
	inProgress := flag.String("in-progress", "", "inProgress expression")
	kustomization := flag.String("kustomization", "", "take the expressions from this Flux Kustomization file")
	flag.Parse()
	var obj map[string]any
	dec := json.NewDecoder(os.Stdin)
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		fmt.Println("Error: input:", err)
		os.Exit(2)
	}
	normalize(obj)
	if *kustomization != "" {
		apiVersion, _ := obj["apiVersion"].(string)
		kind, _ := obj["kind"].(string)
		h, err := fromKustomization(*kustomization, apiVersion, kind)
		if err != nil {
			fmt.Println("Error:", err)
			os.Exit(2)
		}
		*current, *failed, *inProgress = h.Current, h.Failed, h.InProgress
	}
	if *current == "" {
		fmt.Println("Error: the current expression is required")
		os.Exit(2)
	}

	if st, ok := obj["status"].(map[string]any); ok {
		if og, ok := st["observedGeneration"].(int64); ok {
			if md, ok := obj["metadata"].(map[string]any); ok {
				if g, ok := md["generation"].(int64); ok && g != og {
					fmt.Println("InProgress")
					return
				}
			}
		}
	}
	for _, e := range []struct{ expr, status string }{{*inProgress, "InProgress"}, {*failed, "Failed"}, {*current, "Current"}} {
		if e.expr == "" {
			continue
		}
		prg, err := program(e.expr)
		if err != nil {
			fmt.Println("Error:", err)
			return
		}
		val, _, err := prg.Eval(obj)
		if err != nil {
			fmt.Printf("Error: evaluate %q: %v\n", e.expr, err)
			return
		}
		b, ok := val.(types.Bool)
		if !ok {
			fmt.Printf("Error: %q is not boolean\n", e.expr)
			return
		}
		if bool(b) {
			fmt.Println(e.status)
			return
		}
	}
	fmt.Println("InProgress")
}

// normalize turns json.Number into int64 or float64, as unstructured.Unstructured does.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = normalize(x)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	default:
		return v
	}
}
