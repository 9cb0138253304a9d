package e2e

// The box's health evaluation: health_eval_test.go's evaluateHealth, expectHealth and writeHealthTable on every
// snapshot TestBox took, against the expected state per step.

import (
	"context"
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// boxExpected is the health contract per box step: Progressing/InProgress while provisioning or rolling out, Healthy/
// Current only when Available, Degraded/Failed on a failure the controllers report, Suspended when paused.
var boxExpected = map[string]string{
	"infrastructure provisioning": "progressing",
	"control plane initializing":  "progressing",
	"workers joining":             "progressing",
	"rolling out":                 "progressing",
	"available":                   "healthy",
	"subnet fault":                "degraded",
	"instance never ready":        "degraded",
	"launch template rejected":    "degraded",
	"paused":                      "suspended",
}

// evaluateBoxHealth evaluates the generated checks on every snapshot, checks each against the contract and writes
// the table.
func evaluateBoxHealth(t *testing.T, snapshots []boxSnapshot) {
	if in.Box.HealthBinary == "" || len(in.Box.Checks) == 0 {
		t.Errorf("box: no health binary or checks in E2E_INPUT: the health of the snapshots is not evaluated")
		return
	}
	ctx := context.Background()
	var rows []healthRow
	for _, s := range snapshots {
		objs := make([]unstructured.Unstructured, len(s.Objects))
		for i, o := range s.Objects {
			objs[i] = *o
		}
		results, err := evaluateHealth(ctx, in.Box.HealthBinary, in.Box.Checks, objs)
		if err != nil {
			t.Errorf("box: cluster %s, step %s: evaluating the health checks: %v", s.Cluster, s.Step, err)
			continue
		}
		row := healthRow{Step: s.Step, Cluster: s.Cluster, Results: enginesInUse(in.Box.Checks, results)}
		rows = append(rows, row)
		want, ok := boxExpected[s.Step]
		if !ok {
			t.Errorf("box: cluster %s: step %q has no expected health", s.Cluster, s.Step)
			continue
		}
		for _, v := range expectHealth(row, want) {
			t.Errorf("box: health: %s", v)
		}
	}
	negativeControls(ctx, t, snapshots)
	if in.Box.TablePath != "" {
		if err := writeHealthTable(in.Box.TablePath, rows); err != nil {
			t.Errorf("box: writing the health table: %v", err)
		}
	}
}

// negativeControls evaluates the same real snapshots with the checks users have without capi-gitops — Argo CD's
// shipped health scripts for the Cluster API kinds, and Flux's published Ready-keyed Cluster expression — and
// requires the contract to catch them: a check set that passes the box where ours pass proves nothing.
func negativeControls(ctx context.Context, t *testing.T, snapshots []boxSnapshot) {
	builtin, err := argoBuiltinChecks(ctx, in.Box.HealthBinary, in.Box.Checks)
	if err != nil {
		t.Errorf("box: negative control (Argo CD's built-in checks) could not run: %v", err)
		return
	}
	ready, err := fluxReadyChecks(in.Box.Checks)
	if err != nil {
		t.Errorf("box: negative control (Flux Ready-keyed Cluster check) could not run: %v", err)
		return
	}
	for _, control := range []struct {
		name   string
		checks []byte
	}{
		{"Argo CD's built-in v1beta1-style checks", builtin},
		{"a Flux healthCheckExprs keyed on Ready", ready},
	} {
		var caught []string
		for _, s := range snapshots {
			want, ok := boxExpected[s.Step]
			if !ok {
				continue
			}
			objs := make([]unstructured.Unstructured, len(s.Objects))
			for i, o := range s.Objects {
				objs[i] = *o
			}
			results, err := evaluateHealth(ctx, in.Box.HealthBinary, control.checks, objs)
			if err != nil {
				t.Errorf("box: negative control (%s), cluster %s, step %s: %v", control.name, s.Cluster, s.Step, err)
				continue
			}
			caught = append(caught, expectHealth(healthRow{Step: s.Step, Cluster: s.Cluster, Results: results}, want)...)
		}
		if len(caught) == 0 {
			t.Errorf("box: negative control (%s): the box found nothing wrong with it, so it cannot tell our checks from it", control.name)
			continue
		}
		t.Logf("box: negative control (%s): %d violation(s) on the real statuses, e.g. %s", control.name, len(caught), caught[0])
	}
}

// enginesInUse drops the Flux statuses when the repository renders no Flux checks (it syncs with Argo CD): what
// kstatus would fall back to is then nobody's view. (Argo CD without checks already gives no status.)
func enginesInUse(checks json.RawMessage, results []healthResult) []healthResult {
	var c struct {
		Flux []json.RawMessage `json:"flux"`
	}
	if json.Unmarshal(checks, &c) == nil && len(c.Flux) == 0 {
		for i := range results {
			results[i].Flux = nil
		}
	}
	return results
}
