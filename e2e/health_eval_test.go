package e2e

// The health checks on real statuses: what Argo CD (the generated Lua, run as Argo CD runs it) and Flux (the
// generated healthCheckExprs, by Flux's own CEL library, else kstatus) report for the objects the controllers wrote,
// through capi-gitops-health (the health/ module; its own module because Flux's library needs k8s.io v0.36). TestBox
// calls evaluateHealth at each step, expectHealth on the row, and writeHealthTable at the end.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// healthResult is one line of `capi-gitops-health eval`: one object, what each engine says. Argo is nil when the
// checks configure no Argo CD script for the kind.
type healthResult struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Namespace  string        `json:"namespace"`
	Name       string        `json:"name"`
	Argo       *engineStatus `json:"argo"`
	Flux       *engineStatus `json:"flux"`
}

type engineStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func (r healthResult) ref() string { return r.Kind + "/" + r.Name }

// evaluateHealth runs `<bin> eval --checks` on the objects (JSON lines) and returns one result per object, in order.
func evaluateHealth(ctx context.Context, bin string, checks json.RawMessage, objs []unstructured.Unstructured) ([]healthResult, error) {
	return evaluateHealthArgs(ctx, bin, checks, objs)
}

// evaluateHealthArgs is evaluateHealth with more eval flags (e.g. --argo-builtin: kinds without a configured script
// get Argo CD's built-in one, as a real install does).
func evaluateHealthArgs(ctx context.Context, bin string, checks json.RawMessage, objs []unstructured.Unstructured, extra ...string) ([]healthResult, error) {
	dir, err := os.MkdirTemp("", "capi-gitops-health-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "checks.json")
	if err := os.WriteFile(file, checks, 0o600); err != nil {
		return nil, err
	}
	var stdin bytes.Buffer
	for i := range objs {
		line, err := json.Marshal(objs[i].Object)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", objs[i].GetKind(), objs[i].GetName(), err)
		}
		stdin.Write(line)
		stdin.WriteByte('\n')
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"eval", "--checks", file}, extra...)...)
	cmd.Stdin = &stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s eval: %w: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	var results []healthResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r healthResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s eval printed %q: %w", bin, sc.Text(), err)
		}
		if r.Flux == nil {
			return nil, fmt.Errorf("%s eval printed no flux status: %q", bin, sc.Text())
		}
		results = append(results, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(results) != len(objs) {
		return nil, fmt.Errorf("%s eval printed %d results for %d objects", bin, len(results), len(objs))
	}
	return results, nil
}

// argoBuiltinChecks is the Argo CD negative control: checks whose Argo CD part is replaced by the health scripts
// Argo CD ships for the Cluster API groups (`<bin> builtin-argo`, read from the argo-cd module), Flux part unchanged.
func argoBuiltinChecks(ctx context.Context, bin string, checks json.RawMessage) (json.RawMessage, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "builtin-argo")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s builtin-argo: %w: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	var builtin struct {
		Argo json.RawMessage `json:"argo"`
	}
	if err := json.Unmarshal(out, &builtin); err != nil {
		return nil, err
	}
	return replaceChecks(checks, "argo", builtin.Argo)
}

// publishedFluxClusterCheck is the Cluster example of Flux's CEL cheatsheet (flux/cheatsheets/cel-healthchecks.md):
// v1beta1-style, keyed on a Ready condition a v1beta2 Cluster does not have.
var publishedFluxClusterCheck = map[string]string{
	"apiVersion": "cluster.x-k8s.io/v1beta1",
	"kind":       "Cluster",
	"failed":     "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')",
	"current":    "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')",
}

// fluxReadyChecks is the Flux negative control: checks whose Flux entry for the Cluster kind is replaced by the
// published Ready-keyed example (the other entries and the Argo CD part unchanged).
func fluxReadyChecks(checks json.RawMessage) (json.RawMessage, error) {
	var c struct {
		Flux []map[string]any `json:"flux"`
	}
	if err := json.Unmarshal(checks, &c); err != nil {
		return nil, err
	}
	flux := []any{publishedFluxClusterCheck}
	for _, e := range c.Flux {
		av, _ := e["apiVersion"].(string)
		kind, _ := e["kind"].(string)
		if schema.FromAPIVersionAndKind(av, kind).GroupKind() == (schema.GroupKind{Group: "cluster.x-k8s.io", Kind: "Cluster"}) {
			continue
		}
		flux = append(flux, e)
	}
	data, err := json.Marshal(flux)
	if err != nil {
		return nil, err
	}
	return replaceChecks(checks, "flux", data)
}

// replaceChecks sets one top-level field of the checks JSON, keeping the others as they are.
func replaceChecks(checks json.RawMessage, field string, value json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(checks, &m); err != nil {
		return nil, fmt.Errorf("health checks: %w", err)
	}
	m[field] = value
	return json.Marshal(m)
}

// healthRow is one step of the box: what each engine says about the cluster's objects at that step.
type healthRow struct {
	Step    string
	Cluster string
	Results []healthResult
}

// statusSummary says one engine's statuses for the objects of one kind: "Healthy", or "Healthy 2, Progressing 1"
// when they differ; "—" when the engine has no check for the kind.
func statusSummary(rs []healthResult, pick func(healthResult) *engineStatus) string {
	counts := map[string]int{}
	for _, r := range rs {
		s := "—"
		if st := pick(r); st != nil {
			s = st.Status
			if s == "" {
				s = "(none)"
			}
		}
		counts[s]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 1 && len(rs) == 1 {
		return keys[0]
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// argoHealthOrder is how Argo CD ranks health when it sums an Application's resources (gitops-engine
// pkg/health: the worst wins): Healthy < Suspended < Progressing < Missing < Degraded < Unknown.
var argoHealthOrder = []string{"Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"}

// applicationHealth is the Argo CD Application's health over the objects: the worst of theirs ("—" when no object
// has a check).
func applicationHealth(rs []healthResult) string {
	worst := -1
	for _, r := range rs {
		if r.Argo == nil {
			continue
		}
		rank := len(argoHealthOrder) - 1
		for i, h := range argoHealthOrder {
			if h == r.Argo.Status {
				rank = i
			}
		}
		if rank > worst {
			worst = rank
		}
	}
	if worst < 0 {
		return "—"
	}
	return argoHealthOrder[worst]
}

// kustomizationHealth is what a Flux Kustomization with wait reports over the objects: Failed when one failed, Ready
// when every one is Current, else InProgress (still waiting).
func kustomizationHealth(rs []healthResult) string {
	all := true
	for _, r := range rs {
		if r.Flux == nil {
			continue
		}
		if r.Flux.Status == "Failed" {
			return "Failed"
		}
		if r.Flux.Status != "Current" {
			all = false
		}
	}
	if all {
		return "Ready"
	}
	return "InProgress"
}

// healthTable renders the rows as README's Markdown table: per step and cluster, the Cluster object's status in each
// engine and what the user watches — the Argo CD Application's health and the Flux Kustomization's readiness over
// every object of the cluster. Statuses only (no messages, no counts), so a run gives the same table as the last.
func healthTable(rows []healthRow) string {
	var b strings.Builder
	b.WriteString("| Step | Cluster | Cluster in Argo CD | Cluster in Flux | Argo CD Application | Flux Kustomization |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, row := range rows {
		argo, flux := "—", "—"
		for _, r := range row.Results {
			if r.Kind == "Cluster" && strings.HasPrefix(r.APIVersion, "cluster.x-k8s.io/") {
				argo = statusSummary([]healthResult{r}, func(r healthResult) *engineStatus { return r.Argo })
				flux = statusSummary([]healthResult{r}, func(r healthResult) *engineStatus { return r.Flux })
				// No status written yet: Flux's CEL cannot read it (Unknown) and kustomize-controller keeps waiting.
				if r.Flux != nil && r.Flux.Status == "Unknown" && strings.Contains(r.Flux.Message, "no such attribute(s): status") {
					flux = "InProgress"
				}
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdCell(row.Step), mdCell(row.Cluster), argo, flux,
			applicationHealth(row.Results), kustomizationHealth(row.Results))
	}
	return b.String()
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// writeHealthTable writes README's table (step → Argo CD health → Flux status per kind) as Markdown, deterministic.
func writeHealthTable(path string, rows []healthRow) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(healthTable(rows)), 0o644)
}

// wantStatuses is the contract per expected state: the Cluster's Argo CD status and its Flux status. Flux has no
// Suspended: a paused Cluster must stay InProgress (never Current).
var wantStatuses = map[string]struct{ argo, flux string }{
	"progressing": {"Progressing", "InProgress"},
	"healthy":     {"Healthy", "Current"},
	"degraded":    {"Degraded", "Failed"},
	"suspended":   {"Suspended", "InProgress"},
}

// expectHealth checks a row against the contract (Healthy/Current only when the Cluster is Available; Degraded/
// Failed on a reported failure; Progressing/InProgress while provisioning or rolling out; Suspended when paused);
// returns the violations as messages naming cluster, object and step.
//
// The Cluster object carries the state: its Argo CD and Flux statuses must be the wanted ones, except for
// "degraded", where the failure may be reported by the object that failed: some object must be Degraded (Argo CD)
// and some Failed (Flux) — what makes the Application Degraded and the Kustomization fail — and the Cluster must not
// be Healthy/Current. In every state a check that gives no answer (Argo CD Unknown or no status, Flux Unknown: the
// script or expression failed on the object) is a violation, whatever the object.
func expectHealth(row healthRow, want string) []string {
	w, ok := wantStatuses[want]
	if !ok {
		return []string{fmt.Sprintf("cluster %s, step %s: unknown expected state %q", row.Cluster, row.Step, want)}
	}
	var out []string
	fail := func(r healthResult, format string, args ...any) {
		out = append(out, fmt.Sprintf("cluster %s, %s, step %s: %s", row.Cluster, r.ref(), row.Step, fmt.Sprintf(format, args...)))
	}
	say := func(st *engineStatus) string {
		if st == nil {
			return "no check"
		}
		if st.Message == "" {
			return fmt.Sprintf("%q", st.Status)
		}
		return fmt.Sprintf("%q (%s)", st.Status, st.Message)
	}

	var cluster *healthResult
	for i, r := range row.Results {
		if r.Kind == "Cluster" && strings.HasPrefix(r.APIVersion, "cluster.x-k8s.io/") && (r.Name == row.Cluster || cluster == nil) {
			cluster = &row.Results[i]
		}
	}
	if cluster == nil {
		return []string{fmt.Sprintf("cluster %s, step %s: no Cluster among the %d objects evaluated", row.Cluster, row.Step, len(row.Results))}
	}

	// An engine is judged where the row has its statuses (a repository syncs with one of them: enginesInUse).
	argoOn, fluxOn := false, false
	for _, r := range row.Results {
		argoOn = argoOn || r.Argo != nil
		fluxOn = fluxOn || r.Flux != nil
	}
	degradedSeen, failedSeen := false, false
	for _, r := range row.Results {
		if r.Argo != nil && (r.Argo.Status == "Unknown" || r.Argo.Status == "") {
			fail(r, "Argo CD health %s: the check did not give a status", say(r.Argo))
		}
		// An object the controllers have not written a status to yet: Flux's CEL cannot test a missing top-level
		// field, so kustomize-controller reads Unknown and keeps waiting (never Current). Only where the object is
		// expected to be on its way.
		if r.Flux != nil && r.Flux.Status == "Unknown" && !(want != "healthy" && strings.Contains(r.Flux.Message, "no such attribute(s): status")) {
			fail(r, "Flux status %s: the check could not be evaluated", say(r.Flux))
		}
		if r.Argo != nil && r.Argo.Status == "Degraded" {
			degradedSeen = true
		}
		if r.Flux != nil && r.Flux.Status == "Failed" {
			failedSeen = true
		}
	}

	c := *cluster
	if argoOn && c.Argo == nil {
		fail(c, "no Argo CD health check for the Cluster")
	}
	if !argoOn && !fluxOn {
		fail(c, "no health check of either engine for the Cluster")
	}
	if want == "degraded" {
		if argoOn && !degradedSeen {
			fail(c, "a failure was reported but no object is Degraded for Argo CD (Cluster: %s)", say(c.Argo))
		}
		if fluxOn && !failedSeen {
			fail(c, "a failure was reported but no object is Failed for Flux (Cluster: %s)", say(c.Flux))
		}
		// A Cluster of MachinePools is Healthy without Available (CAPI v1.13 sets none on MachinePools): its pools'
		// own checks carry a pool's failure, and the Application / Kustomization is as bad as its worst object.
		// (whether the Cluster shows Available or CAPI's "not yet reported" for them: neither sees a pool's failure).
		mpCluster := false
		for _, r := range row.Results {
			if (r.Kind == "MachinePool" || r.Kind == "AWSMachinePool") && r.Argo != nil && r.Argo.Status == "Degraded" {
				mpCluster = true
			}
		}
		if c.Argo != nil && c.Argo.Status == "Healthy" && !mpCluster {
			fail(c, "Argo CD health %s while a failure is reported", say(c.Argo))
		}
		if c.Flux != nil && c.Flux.Status == "Current" && !mpCluster {
			fail(c, "Flux status %s while a failure is reported", say(c.Flux))
		}
		return out
	}
	if c.Argo != nil && c.Argo.Status != w.argo {
		fail(c, "Argo CD health %s, want %q", say(c.Argo), w.argo)
	}
	// No status written yet: kustomize-controller reads Unknown and waits, which is InProgress for the contract.
	waiting := c.Flux != nil && c.Flux.Status == "Unknown" && want != "healthy" &&
		strings.Contains(c.Flux.Message, "no such attribute(s): status") && w.flux == "InProgress"
	if fluxOn && (c.Flux == nil || (c.Flux.Status != w.flux && !waiting)) {
		fail(c, "Flux status %s, want %q", say(c.Flux), w.flux)
	}
	return out
}

// healthBinaryForTest is the binary TestHealthEval uses: $CAPI_GITOPS_CAPI_GITOPS_HEALTH, else the box input's
// healthBinary (E2E_INPUT), else "" (the test skips).
func healthBinaryForTest() string {
	if b := os.Getenv("CAPI_GITOPS_CAPI_GITOPS_HEALTH"); b != "" {
		return b
	}
	data, err := os.ReadFile(os.Getenv("E2E_INPUT"))
	if err != nil {
		return ""
	}
	var in struct {
		Box *boxInput `json:"box"`
	}
	if json.Unmarshal(data, &in) != nil || in.Box == nil {
		return ""
	}
	return in.Box.HealthBinary
}

// TestHealthEval runs the glue on hand-written v1beta2 objects with small checks of its own (the generated checks
// are TestBox's business): the four states pass expectHealth, the negative controls (Argo CD's shipped Cluster
// check, Flux's published Ready-keyed example) are caught, and the table is deterministic.
func TestHealthEval(t *testing.T) {
	bin := healthBinaryForTest()
	if bin == "" {
		t.Skip("no capi-gitops-health: set CAPI_GITOPS_CAPI_GITOPS_HEALTH or the box input's healthBinary (npm run setup builds .tools/bin/capi-gitops-health)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("capi-gitops-health %s: %v", bin, err)
	}
	ctx := context.Background()
	checks := json.RawMessage(testHealthChecks)

	steps := []struct {
		step, want string
		objs       []unstructured.Unstructured
	}{
		{"provisioning", "progressing", []unstructured.Unstructured{
			testCluster("c1", false, cond("Available", "False", "NotAvailable", "InfrastructureReady is False"), "Provisioning"),
			testAWSMachine("c1-cp-a", cond("Ready", "False", "InstanceProvisionStarted", "")),
		}},
		{"available", "healthy", []unstructured.Unstructured{
			testCluster("c1", false, cond("Available", "True", "Available", ""), "Provisioned"),
			testAWSMachine("c1-cp-a", cond("Ready", "True", "", "")),
		}},
		{"instance failed", "degraded", []unstructured.Unstructured{
			testCluster("c1", false, cond("Available", "False", "NotAvailable", "WorkersAvailable is False"), "Provisioned"),
			testAWSMachine("c1-md-a", cond("Ready", "False", "InstanceProvisionFailed", "launch template rejected")),
		}},
		{"paused", "suspended", []unstructured.Unstructured{
			testCluster("c1", true, cond("Available", "True", "Available", ""), "Provisioned"),
		}},
	}
	var rows []healthRow
	for _, s := range steps {
		results, err := evaluateHealth(ctx, bin, checks, s.objs)
		if err != nil {
			t.Fatal(err)
		}
		row := healthRow{Step: s.step, Cluster: "c1", Results: results}
		if v := expectHealth(row, s.want); len(v) > 0 {
			t.Errorf("step %s (want %s): %s", s.step, s.want, strings.Join(v, "; "))
		}
		rows = append(rows, row)
	}

	// A wrong expectation is reported, naming cluster, object and step.
	if v := expectHealth(rows[0], "healthy"); len(v) == 0 || !strings.Contains(v[0], "cluster c1, Cluster/c1, step provisioning") {
		t.Errorf("expectHealth(provisioning, healthy) = %q, want a violation naming cluster, object and step", v)
	}

	// Negative controls on a Cluster that is Provisioned but not Available (its control plane is not up).
	notAvailable := []unstructured.Unstructured{
		testCluster("c1", false, cond("Available", "False", "NotAvailable", "ControlPlaneAvailable is False"), "Provisioned"),
	}
	if builtin, err := argoBuiltinChecks(ctx, bin, checks); err != nil {
		t.Logf("Argo CD negative control not run (argo-cd module not available): %v", err)
	} else {
		results, err := evaluateHealth(ctx, bin, builtin, notAvailable)
		if err != nil {
			t.Fatal(err)
		}
		v := expectHealth(healthRow{Step: "control plane coming up", Cluster: "c1", Results: results}, "progressing")
		if len(v) == 0 || !strings.Contains(strings.Join(v, "\n"), `Argo CD health "Healthy"`) {
			t.Errorf("Argo CD's shipped Cluster check: want the false Healthy reported, got %q", v)
		}
	}
	ready, err := fluxReadyChecks(checks)
	if err != nil {
		t.Fatal(err)
	}
	results, err := evaluateHealth(ctx, bin, ready, notAvailable)
	if err != nil {
		t.Fatal(err)
	}
	if v := expectHealth(healthRow{Step: "control plane coming up", Cluster: "c1", Results: results}, "progressing"); len(v) == 0 ||
		!strings.Contains(strings.Join(v, "\n"), "Flux status") {
		t.Errorf("Flux's Ready-keyed example: want a violation, got %q", v)
	}

	path := filepath.Join(t.TempDir(), "health.md")
	if err := writeHealthTable(path, rows); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	if err := writeHealthTable(path, rows); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if !bytes.Equal(first, second) {
		t.Error("writeHealthTable is not deterministic")
	}
	for _, line := range []string{
		"| provisioning | c1 | Progressing | InProgress | Progressing | InProgress |",
		"| available | c1 | Healthy | Current | Healthy | Ready |",
		// The failed instance's own check makes the Application Degraded and the Kustomization fail.
		"| instance failed | c1 | Progressing | InProgress | Degraded | Failed |",
		"| paused | c1 | Suspended | InProgress | Suspended | InProgress |",
	} {
		if !strings.Contains(string(first), line+"\n") {
			t.Errorf("table has no line %q:\n%s", line, first)
		}
	}
	t.Logf("health table:\n%s", first)
}

// testHealthChecks are small stand-ins for the generated checks: the Cluster by its v1beta2 Available condition,
// an AWSMachine by CAPA's Ready condition and its failure reasons.
const testHealthChecks = `{
  "argo": {
    "cluster.x-k8s.io_Cluster": "local hs = {status = 'Progressing', message = 'waiting for Available'}\nif obj.spec.paused then return {status = 'Suspended', message = 'paused'} end\nfor _, c in ipairs((obj.status or {}).conditions or {}) do\n  if c.type == 'Available' and c.status == 'True' then hs = {status = 'Healthy', message = ''} end\nend\nreturn hs\n",
    "infrastructure.cluster.x-k8s.io_AWSMachine": "for _, c in ipairs((obj.status or {}).conditions or {}) do\n  if c.type == 'Ready' and c.status == 'True' then return {status = 'Healthy', message = ''} end\n  if c.type == 'Ready' and c.reason == 'InstanceProvisionFailed' then return {status = 'Degraded', message = c.message} end\nend\nreturn {status = 'Progressing', message = 'instance not ready'}\n"
  },
  "flux": [
    {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
     "inProgress": "has(spec.paused) && spec.paused",
     "current": "status.conditions.exists(c, c.type == 'Available' && c.status == 'True')"},
    {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSMachine",
     "failed": "status.conditions.exists(c, c.type == 'Ready' && c.reason == 'InstanceProvisionFailed')",
     "current": "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')"}
  ]
}`

func cond(typ, status, reason, message string) map[string]any {
	return map[string]any{"type": typ, "status": status, "reason": reason, "message": message,
		"lastTransitionTime": "2026-01-01T00:00:00Z"}
}

func testCluster(name string, paused bool, c map[string]any, phase string) unstructured.Unstructured {
	spec := map[string]any{}
	if paused {
		spec["paused"] = true
	}
	return unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
		"metadata": map[string]any{"name": name, "namespace": "fleet", "generation": int64(1)},
		"spec":     spec,
		"status":   map[string]any{"observedGeneration": int64(1), "phase": phase, "conditions": []any{c}},
	}}
}

func testAWSMachine(name string, c map[string]any) unstructured.Unstructured {
	return unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSMachine",
		"metadata": map[string]any{"name": name, "namespace": "fleet"},
		"status":   map[string]any{"conditions": []any{c}},
	}}
}
