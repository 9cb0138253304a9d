package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

// The fixture: a clean render of one generated cluster (testdata/demo.yaml, kustomize output of `new-cluster --name
// demo`) plus a hand-written MachineDeployment node pool (testdata/workers.yaml). Every planted fault below is a small
// edit of it, and each test asserts the stage that denies it and the upstream message, so removing that stage (or
// the webhook behind it) makes the test fail.

var (
	sharedOnce sync.Once
	shared     *admitter
	sharedErr  error
)

func testAdmitter(t *testing.T) *admitter {
	t.Helper()
	sharedOnce.Do(func() {
		if sharedErr = setFeatureGates(""); sharedErr != nil {
			return
		}
		shared, sharedErr = newAdmitter(testCRDDirs(t), options{clusterAnnotation: "capi-gitops.io/cluster", fileAnnotation: "capi-gitops.io/file", workers: 2})
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// testCRDDirs: the CRDs of the pinned modules in the module cache (as the program finds them by default).
func testCRDDirs(t *testing.T) []string {
	dirs := defaultCRDDirs()
	if len(dirs) < 4 {
		t.Fatalf("CRD folders of the CAPI and CAPA modules not found in the module cache: %v", dirs)
	}
	return dirs
}

func fixture(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, f := range []string{"demo.yaml", "workers.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteString("\n---\n")
	}
	return b.String()
}

// objects parses a YAML stream into generic objects.
func objects(t *testing.T, stream string) []map[string]any {
	t.Helper()
	docs, err := splitDocuments([]byte(stream), "fixture")
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, d := range docs {
		var o map[string]any
		if err := json.Unmarshal(d.json, &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// jsonLines writes objects as a JSON lines stream (the program's second input format).
func jsonLines(t *testing.T, objs []map[string]any) string {
	t.Helper()
	var b bytes.Buffer
	for _, o := range objs {
		j, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func obj(t *testing.T, objs []map[string]any, kind, name string) map[string]any {
	t.Helper()
	for _, o := range objs {
		if o["kind"] == kind && o["metadata"].(map[string]any)["name"] == name {
			return o
		}
	}
	t.Fatalf("fixture has no %s %s", kind, name)
	return nil
}

// m walks nested maps (creating missing ones).
func m(o map[string]any, path ...string) map[string]any {
	for _, p := range path {
		next, ok := o[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			o[p] = next
		}
		o = next
	}
	return o
}

// edit returns the fixture as JSON lines with f applied to the object kind/name.
func edit(t *testing.T, kind, name string, f func(o map[string]any)) string {
	t.Helper()
	objs := objects(t, fixture(t))
	f(obj(t, objs, kind, name))
	return jsonLines(t, objs)
}

func admitStreams(t *testing.T, input, old string) []*Result {
	t.Helper()
	a := testAdmitter(t)
	docs, err := splitDocuments([]byte(input), "input")
	if err != nil {
		t.Fatal(err)
	}
	var oldDocs []document
	if old != "" {
		if oldDocs, err = splitDocuments([]byte(old), "old"); err != nil {
			t.Fatal(err)
		}
	}
	results, err := a.admit(docs, oldDocs)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(docs) {
		t.Fatalf("%d results for %d objects", len(results), len(docs))
	}
	return results
}

// expectOnlyDenial checks that exactly the object kind/name is denied, at stage, with a message containing want
// (and a field containing wantField).
func expectOnlyDenial(t *testing.T, results []*Result, kind, name, op, stage, wantField, want string) *Result {
	t.Helper()
	var denied *Result
	for _, r := range results {
		if r.Allowed {
			continue
		}
		if r.Kind != kind || r.Name != name {
			t.Errorf("unexpected denial: %s", dump(r))
			continue
		}
		denied = r
	}
	if denied == nil {
		t.Fatalf("%s %s was admitted, want a denial at stage %s: %q", kind, name, stage, want)
	}
	if denied.Stage != stage || denied.Operation != op {
		t.Errorf("denied at stage %s (%s), want %s (%s): %s", denied.Stage, denied.Operation, stage, op, dump(denied))
	}
	found := false
	for _, msg := range denied.Messages {
		if strings.Contains(msg.Message, want) && strings.Contains(msg.Field, wantField) {
			found = true
		}
	}
	if !found {
		t.Errorf("no message with field ~%q and text ~%q: %s", wantField, want, dump(denied))
	}
	return denied
}

func dump(r *Result) string {
	j, _ := json.Marshal(r)
	return string(j)
}

func TestCleanRenderIsAdmitted(t *testing.T) {
	results := admitStreams(t, fixture(t), "")
	kinds := map[string]int{}
	for _, r := range results {
		if !r.Allowed {
			t.Errorf("denied: %s", dump(r))
		}
		if r.Operation != "CREATE" {
			t.Errorf("operation %s: %s", r.Operation, dump(r))
		}
		kinds[r.Kind+"/"+r.Stage]++
		if r.Stage != stageSkipped && !r.validated {
			t.Errorf("no validating webhook called for %s", dump(r))
		}
		if r.Stage != stageSkipped && !r.mutated {
			t.Logf("no mutating webhook for %s", r.Kind)
		}
	}
	want := map[string]int{
		"Namespace/skipped": 1, "Cluster/webhook": 1, "KubeadmControlPlane/webhook": 1, "KubeadmConfig/webhook": 1,
		"KubeadmConfigTemplate/webhook": 1, "MachineHealthCheck/webhook": 2, "MachinePool/webhook": 1,
		"MachineDeployment/webhook": 1, "AWSCluster/webhook": 1, "AWSMachinePool/webhook": 1, "AWSMachineTemplate/webhook": 2,
	}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%s: %d results, want %d (all: %v)", k, kinds[k], n, kinds)
		}
	}
}

// fault is a planted fault: an edit of the clean fixture that the upstream admission denies at stage with message.
type fault struct {
	name        string
	input       func(t *testing.T) string
	update      bool // admitted as UPDATE against the clean fixture (--old)
	kind, obj   string
	stage       string
	field, text string
	needs       string // the stage without which it passes (default: stage)
}

func faults() []fault {
	return []fault{
		{name: "KCP even replicas with stacked etcd", stage: stageWebhook, kind: "KubeadmControlPlane", obj: "demo-control-plane",
			field: "spec.replicas", text: "cannot be an even number when etcd is stacked",
			input: func(t *testing.T) string {
				return edit(t, "KubeadmControlPlane", "demo-control-plane", func(o map[string]any) { m(o, "spec")["replicas"] = 2 })
			}},
		{name: "AWSCluster subnet with invalid CIDR", stage: stageWebhook, kind: "AWSCluster", obj: "demo",
			field: "spec.network.subnets[1].cidrBlock", text: "subnet CIDR block is invalid",
			input: func(t *testing.T) string {
				return edit(t, "AWSCluster", "demo", func(o map[string]any) {
					m(o, "spec", "network")["subnets"].([]any)[1].(map[string]any)["cidrBlock"] = "10.0.128.0/33"
				})
			}},
		{name: "AWSMachineTemplate non-root volume without device name", stage: stageWebhook, kind: "AWSMachineTemplate", obj: "demo-workers-1",
			field: "nonRootVolumes", text: "non root volume should have device name",
			input: func(t *testing.T) string {
				return edit(t, "AWSMachineTemplate", "demo-workers-1", func(o map[string]any) {
					delete(m(o, "spec", "template", "spec")["nonRootVolumes"].([]any)[0].(map[string]any), "deviceName")
				})
			}},
		{name: "MachineDeployment selector does not match template labels", stage: stageWebhook, kind: "MachineDeployment", obj: "demo-workers",
			field: "spec.template.metadata.labels", text: "must match spec.selector",
			input: func(t *testing.T) string {
				return edit(t, "MachineDeployment", "demo-workers", func(o map[string]any) {
					m(o, "spec", "template", "metadata", "labels")["capi-gitops.io/node-pool"] = "other"
				})
			}},
		{name: "MachinePool with taints", stage: stageWebhook, kind: "MachinePool", obj: "demo-default",
			field: "taints", text: "taints feature for MachinePools is not yet implemented",
			input: func(t *testing.T) string {
				return edit(t, "MachinePool", "demo-default", func(o map[string]any) {
					m(o, "spec", "template", "spec")["taints"] = []any{map[string]any{"key": "dedicated", "value": "gpu", "effect": "NoSchedule", "propagation": "Always"}}
				})
			}},
		{name: "unknown field", stage: stageDecode, kind: "KubeadmControlPlane", obj: "demo-control-plane",
			field: "spec.machineTemplate.spec.infrastructureRefs", text: "unknown field",
			input: func(t *testing.T) string {
				return edit(t, "KubeadmControlPlane", "demo-control-plane", func(o map[string]any) {
					m(o, "spec", "machineTemplate", "spec")["infrastructureRefs"] = map[string]any{"name": "x"}
				})
			}},
		{name: "duplicate field in YAML", stage: stageDecode, kind: "AWSCluster", obj: "demo", field: "spec.region", text: "duplicate field",
			input: func(t *testing.T) string {
				return strings.Replace(fixture(t), "  region: us-east-1\n", "  region: us-east-1\n  region: us-east-2\n", 1)
			}},
		{name: "duplicate field in JSON", stage: stageDecode, kind: "MachinePool", obj: "demo-default", field: "clusterName", text: "duplicate field",
			input: func(t *testing.T) string {
				lines := strings.Split(strings.TrimSpace(jsonLines(t, objects(t, fixture(t)))), "\n")
				for i, l := range lines {
					if strings.Contains(l, `"kind":"MachinePool"`) {
						lines[i] = strings.Replace(l, `"clusterName":"demo"`, `"clusterName":"demo","clusterName":"demo"`, 1)
					}
				}
				return strings.Join(lines, "\n")
			}},
		{name: "schema enum violation", stage: stageSchema, kind: "AWSCluster", obj: "demo",
			field: "spec.controlPlaneLoadBalancer.loadBalancerType", text: "Unsupported value",
			input: func(t *testing.T) string {
				return edit(t, "AWSCluster", "demo", func(o map[string]any) { m(o, "spec", "controlPlaneLoadBalancer")["loadBalancerType"] = "alb-ish" })
			}},
		// The list is a map keyed by name and value, so the schema admits it; the CRD's CEL rule does not.
		{name: "CEL rule violation", stage: stageCEL, kind: "KubeadmControlPlane", obj: "demo-control-plane",
			field: "extraArgs", text: "extraArgs name must be unique",
			input: func(t *testing.T) string {
				return edit(t, "KubeadmControlPlane", "demo-control-plane", func(o map[string]any) {
					cm := m(o, "spec", "kubeadmConfigSpec", "clusterConfiguration", "controllerManager")
					cm["extraArgs"] = append(cm["extraArgs"].([]any), map[string]any{"name": "cloud-provider", "value": "aws"})
				})
			}},
		// The v1beta2 webhooks only see v1beta1 input through conversion.
		{name: "v1beta1 KCP with even replicas", stage: stageWebhook, needs: stageConversion, kind: "KubeadmControlPlane", obj: "demo-control-plane",
			field: "spec.replicas", text: "cannot be an even number when etcd is stacked",
			input: func(t *testing.T) string { return withV1beta1KCP(t, 2) }},
		{name: "UPDATE changing AWSCluster region", update: true, stage: stageWebhook, kind: "AWSCluster", obj: "demo",
			field: "spec.region", text: "field is immutable",
			input: func(t *testing.T) string {
				return edit(t, "AWSCluster", "demo", func(o map[string]any) { m(o, "spec")["region"] = "us-west-2" })
			}},
		{name: "UPDATE KCP version jump of two minors", update: true, stage: stageWebhook, kind: "KubeadmControlPlane", obj: "demo-control-plane",
			field: "spec.version", text: "cannot update Kubernetes version from v1.34.2 to v1.36.0",
			input: func(t *testing.T) string {
				return edit(t, "KubeadmControlPlane", "demo-control-plane", func(o map[string]any) { m(o, "spec")["version"] = "v1.36.0" })
			}},
		{name: "UPDATE AWSMachineTemplate spec", update: true, stage: stageWebhook, kind: "AWSMachineTemplate", obj: "demo-workers-1",
			field: "spec.template.spec", text: "immutable",
			input: func(t *testing.T) string {
				return edit(t, "AWSMachineTemplate", "demo-workers-1", func(o map[string]any) { m(o, "spec", "template", "spec")["instanceType"] = "t3.xlarge" })
			}},
	}
}

func (f fault) run(t *testing.T, disabled ...string) []*Result {
	t.Helper()
	old := ""
	if f.update {
		old = fixture(t)
	}
	if len(disabled) == 0 {
		return admitStreams(t, f.input(t), old)
	}
	a := *testAdmitter(t)
	a.opts.disabled = map[string]bool{}
	for _, d := range disabled {
		a.opts.disabled[d] = true
	}
	docs, err := splitDocuments([]byte(f.input(t)), "input")
	if err != nil {
		t.Fatal(err)
	}
	oldDocs, err := splitDocuments([]byte(old), "old")
	if err != nil {
		t.Fatal(err)
	}
	results, err := a.admit(docs, oldDocs)
	if err != nil {
		t.Fatal(err)
	}
	return results
}

func TestPlantedFaultsAreDenied(t *testing.T) {
	for _, f := range faults() {
		t.Run(f.name, func(t *testing.T) {
			op := "CREATE"
			if f.update {
				op = "UPDATE"
			}
			expectOnlyDenial(t, f.run(t), f.kind, f.obj, op, f.stage, f.field, f.text)
		})
	}
}

// Each planted fault is caught only because of its stage: switched off (--disable-stages), the fault passes.
func TestPlantedFaultsNeedTheirStage(t *testing.T) {
	for _, f := range faults() {
		t.Run(f.name, func(t *testing.T) {
			needs := f.needs
			if needs == "" {
				needs = f.stage
			}
			for _, r := range f.run(t, needs) {
				if !r.Allowed {
					t.Errorf("with stage %s off, still denied: %s", needs, dump(r))
				}
			}
		})
	}
}

// Faults that are faults only on UPDATE: the same objects are admitted on CREATE.
func TestUpdateFaultsPassOnCreate(t *testing.T) {
	for _, f := range faults() {
		if !f.update {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			for _, r := range admitStreams(t, f.input(t), "") {
				if !r.Allowed {
					t.Errorf("denied on CREATE: %s", dump(r))
				}
			}
		})
	}
}

func TestUpdateOneMinorIsAdmitted(t *testing.T) {
	in := edit(t, "KubeadmControlPlane", "demo-control-plane", func(o map[string]any) { m(o, "spec")["version"] = "v1.35.1" })
	for _, r := range admitStreams(t, in, fixture(t)) {
		if !r.Allowed {
			t.Errorf("denied: %s", dump(r))
		}
	}
}

// v1beta1KCP is the demo control plane written in CAPI's v1beta1 API.
func v1beta1KCP(replicas int) map[string]any {
	return map[string]any{
		"apiVersion": "controlplane.cluster.x-k8s.io/v1beta1", "kind": "KubeadmControlPlane",
		"metadata": map[string]any{"name": "demo-control-plane", "namespace": "demo", "labels": map[string]any{"cluster.x-k8s.io/cluster-name": "demo"}},
		"spec": map[string]any{
			"replicas": replicas, "version": "v1.34.2",
			"machineTemplate": map[string]any{"infrastructureRef": map[string]any{
				"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSMachineTemplate", "name": "demo-control-plane-501aa6bf"}},
			"kubeadmConfigSpec": map[string]any{"clusterConfiguration": map[string]any{
				"controllerManager": map[string]any{"extraArgs": map[string]any{"cloud-provider": "external"}}}},
		},
	}
}

func withV1beta1KCP(t *testing.T, replicas int) string {
	objs := objects(t, fixture(t))
	for i, o := range objs {
		if o["kind"] == "KubeadmControlPlane" {
			objs[i] = v1beta1KCP(replicas)
		}
	}
	return jsonLines(t, objs)
}

func TestConversionV1beta1ToHub(t *testing.T) {
	// Clean v1beta1 input: converted with the upstream functions and admitted by the v1beta2 webhooks.
	for _, r := range admitStreams(t, withV1beta1KCP(t, 3), "") {
		if !r.Allowed {
			t.Errorf("denied: %s", dump(r))
		}
		if r.Kind == "KubeadmControlPlane" && (r.APIVersion != "controlplane.cluster.x-k8s.io/v1beta1" || r.Stage != stageWebhook) {
			t.Errorf("v1beta1 KCP: %s", dump(r))
		}
	}
}

func TestUpdateUnchangedIsAdmitted(t *testing.T) {
	results := admitStreams(t, fixture(t), fixture(t))
	for _, r := range results {
		if !r.Allowed {
			t.Errorf("denied: %s", dump(r))
		}
		if r.Stage != stageSkipped && r.Operation != "UPDATE" {
			t.Errorf("operation %s, want UPDATE: %s", r.Operation, dump(r))
		}
	}
}

func TestClusterAndFilePassThroughAndSkippedKinds(t *testing.T) {
	objs := objects(t, fixture(t))
	kcp := obj(t, objs, "KubeadmControlPlane", "demo-control-plane")
	m(kcp, "metadata", "annotations")["capi-gitops.io/cluster"] = "demo"
	m(kcp, "metadata", "annotations")["config.kubernetes.io/origin"] = "path: clusters/demo/generated/control-plane.yaml\n"
	objs = append(objs,
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x", "namespace": "demo"}},
		map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": map[string]any{"name": "x"}, "spec": map[string]any{"bogus": 1}},
		// CAPA EKS: its CRD is loaded, its Go types and webhooks are not in this program
		map[string]any{"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "AWSManagedControlPlane", "metadata": map[string]any{"name": "eks", "namespace": "demo"}, "spec": map[string]any{}},
	)
	results := admitStreams(t, jsonLines(t, objs), "")
	for _, r := range results {
		if !r.Allowed {
			t.Errorf("denied: %s", dump(r))
		}
		switch r.Kind {
		case "KubeadmControlPlane":
			if r.Cluster != "demo" || r.File != "clusters/demo/generated/control-plane.yaml" {
				t.Errorf("cluster/file not passed through: %s", dump(r))
			}
		case "AWSManagedControlPlane":
			if r.Stage != stageCEL || len(r.Warnings) != 1 {
				t.Errorf("want CRD stages only, with a warning: %s", dump(r))
			}
		case "ConfigMap", "Application", "Namespace":
			if r.Stage != stageSkipped {
				t.Errorf("want skipped: %s", dump(r))
			}
		}
	}
}

func TestRunExitCodesAndOutput(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.yaml")
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(clean, []byte(fixture(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	in := edit(t, "KubeadmControlPlane", "demo-control-plane", func(o map[string]any) { m(o, "spec")["replicas"] = 4 })
	if err := os.WriteFile(bad, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	crdArgs := []string{}
	for _, d := range testCRDDirs(t) {
		crdArgs = append(crdArgs, "--crds", d)
	}
	runIt := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(append(append([]string{}, crdArgs...), args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := runIt(clean); code != 0 {
		t.Errorf("clean: exit %d\n%s", code, out)
	} else if n := strings.Count(out, "\n"); n != 13 {
		t.Errorf("clean: %d lines, want 13\n%s", n, out)
	}
	if code, out := runIt("--old", clean, bad); code != 1 || !strings.Contains(out, `"operation":"UPDATE","allowed":false,"stage":"webhook"`) {
		t.Errorf("fault: exit %d\n%s", code, out)
	}
	if code, out := runIt(filepath.Join(dir, "missing.yaml")); code != 2 {
		t.Errorf("missing file: exit %d\n%s", code, out)
	}
	if code, out := runIt("--no-such-flag"); code != 2 {
		t.Errorf("bad flag: exit %d\n%s", code, out)
	}
	var out bytes.Buffer
	if code := run([]string{"--help"}, &out, &out); code != 0 || !strings.Contains(out.String(), "Exit status") {
		t.Errorf("--help: exit %d\n%s", code, out.String())
	}
}

// The Cluster webhook reads the ClusterClass through the fake client that holds the input's objects.
func TestWebhooksReadOtherObjectsOfTheInput(t *testing.T) {
	a := testAdmitter(t)
	if err := setFeatureGates("ClusterTopology=true"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := setFeatureGates("ClusterTopology=false"); err != nil {
			t.Fatal(err)
		}
	}()
	data, err := os.ReadFile(filepath.Join("testdata", "topology.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitDocuments(data, "topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	results, err := a.admit(docs, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"demo-class": "",
		"topo":       "ClusterClass demo/demo-class, but this ClusterClass hasn't been successfully reconciled", // found in the input
		"topo2":      "ClusterClass demo/missing-class, but this ClusterClass does not exist",
	}
	for _, r := range results {
		if !r.Allowed {
			t.Errorf("denied: %s", dump(r))
		}
		if w := want[r.Name]; w != "" && (len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], w)) {
			t.Errorf("%s: warnings %q, want %q", r.Name, r.Warnings, w)
		}
	}
}

// MachinePool=true is set in-process (CAPA's gates are CAPI's); without it the upstream MachinePool webhook denies.
func TestMachinePoolFeatureGate(t *testing.T) {
	testAdmitter(t)
	if err := setFeatureGates("MachinePool=false"); err != nil {
		t.Fatal(err)
	}
	results := admitStreams(t, fixture(t), "")
	if err := setFeatureGates(""); err != nil {
		t.Fatal(err)
	}
	expectOnlyDenial(t, results, "MachinePool", "demo-default", "CREATE", stageWebhook, "spec", "can be set only if the MachinePool feature flag is enabled")
	for _, r := range admitStreams(t, fixture(t), "") {
		if !r.Allowed {
			t.Errorf("denied with the gate on: %s", dump(r))
		}
	}
}

// BenchmarkAdmitFleet: the fixture copied to 100 clusters (1300 objects) in one admit call.
// nice -n 15 go test -run '^$' -bench AdmitFleet -cpuprofile /tmp/adm.cpu
func BenchmarkAdmitFleet(b *testing.B) {
	t := &testing.T{}
	one := fixture(t)
	var fleet strings.Builder
	for i := 0; i < 100; i++ {
		fleet.WriteString(strings.ReplaceAll(one, "demo", "c"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+"-"+itoa(i)))
		fleet.WriteString("\n---\n")
	}
	docs, err := splitDocuments([]byte(fleet.String()), "fleet")
	if err != nil {
		b.Fatal(err)
	}
	a := testAdmitter(t)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		results, err := a.admit(append([]document(nil), docs...), nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range results {
			if !r.Allowed {
				b.Fatal(dump(r))
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// The same object twice in the input (two clusters rendering one name): each copy is admitted on its own; the fake
// client holds the first.
func TestDuplicateObjectsInTheInput(t *testing.T) {
	results := admitStreams(t, fixture(t)+"\n---\n"+fixture(t), "")
	if len(results) != 26 {
		t.Fatalf("%d results", len(results))
	}
	for _, r := range results {
		if !r.Allowed {
			t.Errorf("denied: %s", dump(r))
		}
	}
}

// A null in a non-nullable field without a default (CAPA's own templates leave `matchLabels:` empty) is dropped as
// the API server's decoder drops it (PruneNonNullableNullsWithoutDefaults), not denied by the schema stage.
func TestNonNullableNullsArePrunedLikeTheAPIServer(t *testing.T) {
	input := edit(t, "MachineDeployment", "demo-workers", func(o map[string]any) {
		m(o, "spec", "selector")["matchLabels"] = nil
	})
	for _, r := range admitStreams(t, input, "") {
		if !r.Allowed {
			t.Errorf("denied: %s", dump(r))
		}
	}
}

// The stages and their order are the program's contract: result lines name them, --disable-stages takes them, and
// the TypeScript side lists them (generator/src/tools/admission.ts, ADMISSION_STAGES).
func TestStagesInOrder(t *testing.T) {
	var names []string
	for _, s := range append(append([]stage{}, objectStages...), webhookStages...) {
		names = append(names, s.name)
	}
	if got, want := strings.Join(names, ","), "decode,schema,cel,conversion,webhook"; got != want {
		t.Errorf("stages %s, want %s", got, want)
	}
	if isStage(stageSkipped) || !isStage(stageConversion) {
		t.Errorf("isStage: skipped is a result, not a stage; conversion is a stage")
	}
}

// The CRD index reads each CRD's group and kind from its lines (crds.go scanHeader) and decodes the CRD only when an
// object of its kind comes: for every CRD the program is given (the module cache's controller-gen files, and the
// files `npm run setup` writes into .tools/crds), the scanned header is the decoded one, and each prepares.
func TestCRDIndexMatchesDecoding(t *testing.T) {
	dirs := testCRDDirs(t)
	if _, err := os.Stat("../.tools/crds"); err == nil {
		dirs = append(dirs, "../.tools/crds")
	}
	scanned := 0
	for _, dir := range dirs {
		err := eachCRDDocument(dir, func(p string, doc []byte) error {
			var full crdHeader
			if err := yaml.Unmarshal(doc, &full); err != nil || full.Kind != "CustomResourceDefinition" {
				return nil
			}
			h, ok := scanHeader(doc)
			// A JSON document is not scanned (loadCRDs decodes it in full); every YAML one is, to the decoded header.
			if (!ok && !bytes.HasPrefix(bytes.TrimSpace(doc), []byte("{"))) || (ok && h != full) {
				t.Errorf("%s: scanned %+v (ok %v), decoded %+v", p, h, ok, full)
			}
			scanned++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		set, err := loadCRDs([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		for gk := range set {
			if info, err := set.get(gk); err != nil || info == nil {
				t.Errorf("%s: %s does not prepare: %v", dir, gk, err)
			}
		}
	}
	if scanned < 40 {
		t.Fatalf("only %d CRDs scanned in %v", scanned, dirs)
	}
	// A document laid out otherwise (JSON) is decoded in full instead.
	if _, ok := scanHeader([]byte(`{"kind":"CustomResourceDefinition","spec":{"group":"g","names":{"kind":"K"}}}`)); ok {
		t.Fatal("a JSON document was scanned")
	}
}
