package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// availableLua is a tiny v1beta2 Cluster check: Suspended when paused, Healthy when Available, Degraded when a
// condition reports a failure, else Progressing.
const availableLua = `
local hs = {status = "Progressing", message = "waiting for Available"}
if obj.spec ~= nil and obj.spec.paused then
  hs.status = "Suspended"; hs.message = "paused"; return hs
end
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Available" and c.status == "True" then hs.status = "Healthy"; hs.message = "" end
    if c.type == "Available" and c.status == "False" and c.reason == "Failed" then
      hs.status = "Degraded"; hs.message = c.message
    end
  end
end
return hs
`

const (
	availableCEL = "status.conditions.exists(c, c.type == 'Available' && c.status == 'True')"
	failedCEL    = "status.conditions.exists(c, c.type == 'Available' && c.status == 'False' && c.reason == 'Failed')"
	pausedCEL    = "has(spec.paused) && spec.paused"
)

func checksJSON(t *testing.T, argo map[string]string, flux []map[string]string) []byte {
	t.Helper()
	if flux == nil {
		flux = []map[string]string{}
	}
	data, err := json.Marshal(map[string]any{"argo": argo, "flux": flux})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func runCmd(t *testing.T, stdin []byte, args ...string) (int, string, error) {
	t.Helper()
	var out bytes.Buffer
	code, err := run(context.Background(), args, bytes.NewReader(stdin), &out)
	return code, out.String(), err
}

func checkProblems(t *testing.T, checks []byte) (int, []Problem) {
	t.Helper()
	code, out, err := runCmd(t, checks, "check")
	if code == 2 {
		t.Fatalf("check: exit 2: %v", err)
	}
	var got struct{ Problems []Problem }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("check output %q: %v", out, err)
	}
	return code, got.Problems
}

func TestCheckAcceptsValidChecks(t *testing.T) {
	code, problems := checkProblems(t, checksJSON(t,
		map[string]string{"cluster.x-k8s.io_Cluster": availableLua},
		[]map[string]string{{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "current": availableCEL, "failed": failedCEL}}))
	if code != 0 || len(problems) != 0 {
		t.Fatalf("exit %d, problems %v", code, problems)
	}
}

func TestCheckReportsEachProblem(t *testing.T) {
	code, problems := checkProblems(t, checksJSON(t,
		map[string]string{
			"cluster.x-k8s.io_Cluster": "local hs = {\nreturn hs",
			"a_b_c":                    "return {}",
			"controlplane.cluster.x-k8s.io_KubeadmControlPlane": "  ",
		},
		[]map[string]string{
			{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "current": "status.conditions.exists(c, c.type == 'Available'"},
			{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "current": ""},
			{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachinePool", "current": availableCEL},
			{"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "MachinePool", "current": availableCEL},
		}))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	want := []struct{ engine, key, contains string }{
		{"argo", "a_b_c", "not <group>_<Kind>"},
		{"argo", "cluster.x-k8s.io_Cluster", "syntax error"},
		{"argo", "controlplane.cluster.x-k8s.io_KubeadmControlPlane", "empty"},
		{"flux", "cluster.x-k8s.io/v1beta2/Cluster", "Syntax error"},
		{"flux", "cluster.x-k8s.io/v1beta2/Machine", "expression Current not specified"},
		{"flux", "cluster.x-k8s.io/v1beta1/MachinePool", "a second entry for MachinePool.cluster.x-k8s.io"},
	}
	if len(problems) != len(want) {
		t.Fatalf("problems %v, want %d", problems, len(want))
	}
	for i, w := range want {
		p := problems[i]
		if p.Engine != w.engine || p.Key != w.key || !strings.Contains(p.Message, w.contains) {
			t.Errorf("problem %d = %+v, want %s %s containing %q", i, p, w.engine, w.key, w.contains)
		}
	}
}

func TestBadInputExitsTwo(t *testing.T) {
	if code, _, err := runCmd(t, []byte("{"), "check"); code != 2 || err == nil {
		t.Errorf("check on broken JSON: exit %d err %v", code, err)
	}
	if code, _, err := runCmd(t, nil, "nope"); code != 2 || err == nil {
		t.Errorf("unknown command: exit %d err %v", code, err)
	}
	if code, _, err := runCmd(t, nil, "eval"); code != 2 || err == nil {
		t.Errorf("eval without --checks: exit %d err %v", code, err)
	}
	if code, out, _ := runCmd(t, nil, "--help"); code != 0 || !strings.Contains(out, "Exit codes") {
		t.Errorf("--help: exit %d %q", code, out)
	}
	// A Flux entry kustomize-controller would refuse: the whole Kustomization stalls, so eval refuses too.
	file := writeChecks(t, checksJSON(t, nil, []map[string]string{{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "current": "("}}))
	if code, _, err := runCmd(t, []byte(clusterJSON("c", 1, 1, false, nil)), "eval", "--checks", file); code != 2 || err == nil {
		t.Errorf("eval with a broken CEL entry: exit %d err %v", code, err)
	}
}

func writeChecks(t *testing.T, data []byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "checks.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

type cond struct{ Type, Status, Reason, Message string }

// clusterJSON is a v1beta2 Cluster as the core controller writes it (metav1.Condition, no severity, no Ready).
func clusterJSON(name string, generation, observed int, paused bool, conds []cond, phase ...string) string {
	var cs []map[string]any
	for _, c := range conds {
		cs = append(cs, map[string]any{"type": c.Type, "status": c.Status, "reason": c.Reason, "message": c.Message,
			"lastTransitionTime": "2026-01-01T00:00:00Z"})
	}
	status := map[string]any{"observedGeneration": observed, "conditions": cs}
	if len(phase) > 0 {
		status["phase"] = phase[0]
	}
	spec := map[string]any{"controlPlaneRef": map[string]any{"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "KubeadmControlPlane", "name": name}}
	if paused {
		spec["paused"] = true
	}
	data, _ := json.Marshal(map[string]any{
		"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
		"metadata": map[string]any{"name": name, "namespace": "fleet", "generation": generation},
		"spec":     spec, "status": status,
	})
	return string(data)
}

func evalLines(t *testing.T, checks []byte, objs []string, extra ...string) []result {
	t.Helper()
	args := append([]string{"eval", "--checks", writeChecks(t, checks)}, extra...)
	code, out, err := runCmd(t, []byte(strings.Join(objs, "\n")+"\n"), args...)
	if code != 0 {
		t.Fatalf("eval: exit %d: %v", code, err)
	}
	var rs []result
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("eval line %q: %v", line, err)
		}
		rs = append(rs, r)
	}
	if len(rs) != len(objs) {
		t.Fatalf("eval: %d lines for %d objects", len(rs), len(objs))
	}
	return rs
}

func TestEvalClusterStates(t *testing.T) {
	checks := checksJSON(t,
		map[string]string{"cluster.x-k8s.io_Cluster": availableLua},
		[]map[string]string{{"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
			"current": availableCEL, "failed": failedCEL, "inProgress": pausedCEL}})
	objs := []string{
		clusterJSON("available", 1, 1, false, []cond{{"Available", "True", "Available", ""}}, "Provisioned"),
		clusterJSON("provisioned-not-available", 1, 1, false, []cond{{"Available", "False", "NotAvailable", "control plane not initialized"}}, "Provisioned"),
		clusterJSON("failed", 1, 1, false, []cond{{"Available", "False", "Failed", "subnet failed"}}, "Failed"),
		clusterJSON("rolling", 2, 1, false, []cond{{"Available", "True", "Available", ""}}, "Provisioned"),
		clusterJSON("paused", 1, 1, true, nil, "Provisioning"),
		clusterJSON("pending", 1, 1, false, nil, "Pending"),
	}
	want := []struct{ argo, flux string }{
		{"Healthy", "Current"},
		{"Progressing", "InProgress"},
		{"Degraded", "Failed"},
		// Flux: observedGeneration behind generation is InProgress before any expression is read.
		{"Healthy", "InProgress"},
		{"Suspended", "InProgress"},
		// No conditions yet: the CEL reads a missing field, an evaluation error: Unknown, as Flux's poller reports.
		{"Progressing", "Unknown"},
	}
	for i, r := range evalLines(t, checks, objs) {
		if r.Kind != "Cluster" || r.Namespace != "fleet" || r.Argo == nil || r.Flux == nil {
			t.Fatalf("result %d: %+v", i, r)
		}
		if r.Argo.Status != want[i].argo || r.Flux.Status != want[i].flux {
			t.Errorf("%s: argo %+v flux %+v, want %s/%s", r.Name, *r.Argo, *r.Flux, want[i].argo, want[i].flux)
		}
	}
}

func TestEvalWithoutChecksFallsBackLikeEachEngine(t *testing.T) {
	rs := evalLines(t, checksJSON(t, nil, nil), []string{
		clusterJSON("no-checks", 1, 1, false, []cond{{"Available", "False", "NotAvailable", ""}}),
	})
	// Argo CD without a configured script (and without its built-ins here): no health; Flux: kstatus, which calls
	// a CAPI object Current once observedGeneration matches.
	if rs[0].Argo != nil || rs[0].Flux.Status != "Current" {
		t.Fatalf("got argo %+v flux %+v", rs[0].Argo, rs[0].Flux)
	}
}

func argoOnly(t *testing.T, script string, obj string) EngineStatus {
	t.Helper()
	rs := evalLines(t, checksJSON(t, map[string]string{"cluster.x-k8s.io_Cluster": script}, nil), []string{obj})
	if rs[0].Argo == nil {
		t.Fatal("no argo result")
	}
	return *rs[0].Argo
}

func TestArgoRunnerBehaviours(t *testing.T) {
	obj := clusterJSON("c", 1, 1, false, []cond{{"Available", "True", "Available", ""}})
	deleting := strings.Replace(obj, `"generation":1`, `"generation":1,"deletionTimestamp":"2026-01-01T00:00:00Z"`, 1)
	cases := []struct {
		name, script, obj string
		want              EngineStatus
		contains          string
	}{
		{"invalid status", `return {status = "Fine"}`, obj, EngineStatus{Status: "Unknown", Message: argoInvalidStatus}, ""},
		{"status missing", `return {message = "x"}`, obj, EngineStatus{Status: "Unknown", Message: argoInvalidStatus}, ""},
		{"nil", `return nil`, obj, EngineStatus{}, ""},
		{"empty table", `return {}`, obj, EngineStatus{}, ""},
		{"wrongly typed message", `return {status = "Healthy", message = 3}`, obj, EngineStatus{}, ""},
		{"not a table", `return "Healthy"`, obj, EngineStatus{Status: "Unknown"}, "expect table output from Lua script, not string"},
		{"runtime error", `return {status = obj.status.nothing.deeper}`, obj, EngineStatus{Status: "Unknown"}, "attempt to index"},
		{"string library closed", `return {status = string.upper("healthy")}`, obj, EngineStatus{Status: "Unknown"}, "non-table object(nil) with key 'upper'"},
		{"global os absent", `return {status = os.time() and "Healthy"}`, obj, EngineStatus{Status: "Unknown"}, "non-table object(nil) with key 'time'"},
		{"require os", `local os = require("os"); if os.time() > 0 then return {status = "Healthy"} end`, obj, EngineStatus{Status: "Healthy"}, ""},
		{"numbers are numbers", `if obj.metadata.generation == 1 then return {status = "Healthy", message = "gen"} end`, obj, EngineStatus{Status: "Healthy", Message: "gen"}, ""},
		{"pending deletion", `return {status = "Healthy"}`, deleting, EngineStatus{Status: "Progressing", Message: "Pending deletion"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := argoOnly(t, c.script, c.obj)
			if c.contains != "" {
				if got.Status != c.want.Status || !strings.Contains(got.Message, c.contains) || strings.Contains(got.Message, "stack traceback") {
					t.Fatalf("got %+v, want %s containing %q without a stack trace", got, c.want.Status, c.contains)
				}
				return
			}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestArgoScriptTimeout(t *testing.T) {
	start := time.Now()
	got := argoOnly(t, `while true do end`, clusterJSON("c", 1, 1, false, nil))
	if got.Status != "Unknown" || time.Since(start) > 10*time.Second {
		t.Fatalf("got %+v after %s", got, time.Since(start))
	}
}

// TestBuiltinArgoIsFalseHealthy is the negative control on its own: Argo CD's shipped Cluster script, read from the
// argo-cd module, calls a v1beta2 Cluster that is not Available Healthy once its phase is Provisioned.
func TestBuiltinArgoIsFalseHealthy(t *testing.T) {
	dir, err := argoCDDir(os.Getenv("ARGO_CD_DIR"))
	if err != nil {
		t.Skipf("argo-cd %s not in the module cache and not downloadable: %v", argoCDVersion, err)
	}
	code, out, err := runCmd(t, nil, "builtin-argo", "--argo-cd-dir", dir)
	if code != 0 {
		t.Fatalf("builtin-argo: %v", err)
	}
	var got Checks
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cluster.x-k8s.io_Cluster", "cluster.x-k8s.io_MachineDeployment", "addons.cluster.x-k8s.io_ClusterResourceSet"} {
		if got.Argo[k] == "" {
			t.Errorf("builtin-argo has no %s (keys %v)", k, sortedKeys(got.Argo))
		}
	}
	notAvailable := clusterJSON("c", 1, 1, false, []cond{{"Available", "False", "NotAvailable", "control plane not available"}}, "Provisioned")
	rs := evalLines(t, checksJSON(t, nil, nil), []string{notAvailable}, "--argo-builtin", "--argo-cd-dir", dir)
	if rs[0].Argo == nil || rs[0].Argo.Status != "Healthy" {
		t.Fatalf("built-in Cluster check on a Provisioned, not Available v1beta2 Cluster: %+v, want the false Healthy", rs[0].Argo)
	}
}
