// main_test.go: kstatus-check computes the documented statuses (run: go test ./kstatus-check).
package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func check(t *testing.T, in string) map[string]any {
	t.Helper()
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := map[string]any{}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestARollingDeploymentIsInProgressAndAFinishedOneCurrent(t *testing.T) {
	rolling := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x","generation":2},
	  "spec":{"replicas":2},"status":{"observedGeneration":2,"replicas":2,"updatedReplicas":1,"readyReplicas":1,"availableReplicas":1}}`
	if got := check(t, rolling); got["status"] != "InProgress" {
		t.Fatalf("rolling: %v", got)
	}
	done := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, generation: 2}\nspec: {replicas: 1}\n" +
		"status: {observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1,\n" +
		"  conditions: [{type: Available, status: 'True'}, {type: Progressing, status: 'True', reason: NewReplicaSetAvailable}]}\n"
	if got := check(t, done); got["status"] != "Current" {
		t.Fatalf("done: %v", got)
	}
}

func TestAReadyFalseConditionOnACustomResourceIsReported(t *testing.T) {
	cr := `{"apiVersion":"x.io/v1","kind":"Thing","metadata":{"name":"t","generation":1},
	  "status":{"observedGeneration":1,"conditions":[{"type":"Stalled","status":"True","reason":"Broken","message":"it broke"}]}}`
	if got := check(t, cr); got["status"] != "Failed" || got["message"] != "it broke" {
		t.Fatalf("got %v", got)
	}
}

func TestGarbageInputIsAnError(t *testing.T) {
	if err := run(strings.NewReader("["), &bytes.Buffer{}); err == nil {
		t.Fatal("want an error")
	}
}
