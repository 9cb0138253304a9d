package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crzap "sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	infrav1 "sigs.k8s.io/cluster-api-provider-aws/v2/api/v1beta2"
	expinfrav1 "sigs.k8s.io/cluster-api-provider-aws/v2/exp/api/v1beta2"
	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1beta1 "sigs.k8s.io/cluster-api/api/core/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"

	"github.com/capi-gitops/admission/upstream"
)

// The box: the clusters of in.Box reconciled by the real CAPI controllers (box_env_test.go) with the stand-in
// CAPA (standin_test.go) and one workload API server each (workload_test.go), one cluster after another.

const (
	// boxPhaseTimeout bounds each phase (create → Available, a roll-out, a deletion).
	boxPhaseTimeout = 5 * time.Minute
	// poolLabel is the label capi-gitops puts on every pool's machines (MachineDeployment and MachinePool templates).
	poolLabel = "capi-gitops.io/node-pool"
)

// boxKinds are the objects a snapshot holds (what the health checks are evaluated on).
var boxKinds = []schema.GroupVersionKind{
	clusterv1.GroupVersion.WithKind("Cluster"),
	controlplanev1.GroupVersion.WithKind("KubeadmControlPlane"),
	clusterv1.GroupVersion.WithKind("MachineDeployment"),
	clusterv1.GroupVersion.WithKind("MachinePool"),
	clusterv1.GroupVersion.WithKind("Machine"),
	clusterv1.GroupVersion.WithKind("MachineHealthCheck"),
	addonsv1.GroupVersion.WithKind("ClusterResourceSet"),
	infrav1.GroupVersion.WithKind("AWSCluster"),
	expinfrav1.GroupVersion.WithKind("AWSMachinePool"),
	infrav1.GroupVersion.WithKind("AWSMachine"),
}

// boxSnapshot is the cluster's CAPI/CAPA objects as the controllers left them at a named step.
type boxSnapshot struct {
	// Cluster is "<namespace>/<name>".
	Cluster string
	// Step: "infrastructure provisioning", "control plane initializing", "workers joining", "available",
	// "rolling out", "subnet fault", "instance never ready", "launch template rejected", "paused".
	Step    string
	Objects []*unstructured.Unstructured
}

// boxSnapshots are every snapshot of the run, in order, for the health evaluation.
var boxSnapshots []boxSnapshot

func TestBox(t *testing.T) {
	if in.Box == nil || len(in.Box.Clusters) == 0 {
		t.Skip("E2E_INPUT has no box clusters")
	}
	began := time.Now()
	b := startBox(t, "box")
	fmt.Printf("box: management cluster with the CAPI core, kubeadm control-plane and bootstrap controllers up in %.1f s\n", time.Since(began).Seconds())
	for _, c := range in.Box.Clusters {
		t.Run(c.Name, func(t *testing.T) { runBoxCluster(t, b, c) })
	}
	// Argo CD and Flux state per snapshot against the expected state per step (box_health_test.go).
	evaluateBoxHealth(t, boxSnapshots)
}

var (
	boxLogOnce sync.Once
	boxLogPath string
	boxLogErr  error
)

// boxLogger sends the controllers' logs (as they log in their pods) into one file for the whole suite — the place to
// look when a phase times out; the loggers are process-wide, so every box run of the suite shares it.
func boxLogger(t *testing.T) {
	boxLogOnce.Do(func() {
		f, err := os.CreateTemp("", "box-controllers-*.log")
		if err != nil {
			boxLogErr = err
			return
		}
		boxLogPath = f.Name()
		logger := crzap.New(crzap.WriteTo(f))
		ctrl.SetLogger(logger)
		klog.SetLogger(logger)
	})
	if boxLogErr != nil {
		t.Fatal(boxLogErr)
	}
	fmt.Printf("box: the controllers' logs: %s\n", boxLogPath)
}

// boxRun is one cluster in the box.
type boxRun struct {
	t     *testing.T
	b     *boxManagement
	c     boxCluster
	w     *workloadCluster
	s     *standIn
	key   client.ObjectKey
	where string
	// last step name snapshotted, so a phase is recorded once when it is entered.
	lastStep string
}

// startBox starts a box management cluster (the CAPI controllers in this process) for one test, stopped when it ends;
// label prefixes its messages.
func startBox(t *testing.T, label string) *boxManagement {
	scheme, err := upstream.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	boxLogger(t)
	b, err := startBoxManagement(&in, scheme)
	if err != nil {
		t.Fatalf("%s: starting the management cluster with the CAPI controllers: %v", label, err)
	}
	t.Cleanup(func() {
		if err := b.stop(); err != nil {
			t.Errorf("%s: teardown: %v", label, err)
		}
	})
	return b
}

// newBoxRun gives a box cluster its workload API server (stopped when the test ends) and its stand-in CAPA; where
// names it in messages.
func newBoxRun(t *testing.T, b *boxManagement, c boxCluster, where string) *boxRun {
	w, err := newWorkloadCluster(in.Assets, c.Namespace, c.Name)
	if err != nil {
		t.Fatalf("%s: workload API server: %v", where, err)
	}
	key := client.ObjectKey{Namespace: c.Namespace, Name: c.Name}
	t.Cleanup(func() {
		b.setReachable(key, false)
		if err := w.Stop(); err != nil {
			t.Errorf("%s: stopping the workload API server: %v", where, err)
		}
	})
	r := &boxRun{t: t, b: b, c: c, w: w, key: key, where: where}
	r.s = newStandIn(b.client, c, w, func() { b.setReachable(key, true) })
	return r
}

func runBoxCluster(t *testing.T, b *boxManagement, c boxCluster) {
	ctx := context.Background()
	r := newBoxRun(t, b, c, fmt.Sprintf("box: cluster %s/%s", c.Namespace, c.Name))
	first := len(boxSnapshots)
	defer func() {
		var steps []string
		for _, s := range boxSnapshots[first:] {
			steps = append(steps, s.Step)
		}
		fmt.Printf("%s: snapshots: %s\n", r.where, strings.Join(steps, ", "))
	}()

	began := time.Now()
	if err := r.apply(ctx, c.Create); err != nil {
		t.Fatalf("%s: applying the render: %v", r.where, err)
	}
	if len(c.Faults) > 0 {
		r.faults(ctx)
		return
	}
	if err := r.stepUntil(ctx, "Available", r.phaseStep, r.available); err != nil {
		t.Fatalf("%s: not Available after %s: %v", r.where, boxPhaseTimeout, err)
	}
	took := time.Since(began)
	// Available does not wait for every replica: CAPI v1.13 sets no Available condition on a MachinePool (its status
	// code says so: conditions are future work), so the Cluster's WorkersAvailable passes over them, and a control
	// plane is available before it has all its replicas. The box waits for every replica's node before it checks
	// them; the "available" snapshot is the settled cluster.
	// No snapshot while waiting: the Cluster is Available then, but the contract's states do not name this one.
	if err := r.stepUntil(ctx, "every machine with its node", func(context.Context) string { return "" }, r.replicasReady); err != nil {
		r.errorf("Cluster/"+c.Name, "Available, but %v", err)
	}
	// What the user watches must settle too: the Application (the worst of its objects' health) Healthy and the
	// Kustomization (every object Current) Ready — a check that never lets them would hold the sync forever.
	if err := r.stepUntil(ctx, "the Application Healthy and the Kustomization Ready", func(context.Context) string { return "" }, r.engineSettled); err != nil {
		r.errorf("Cluster/"+c.Name, "Available, but %v", err)
	}
	nodes := time.Since(began)
	r.snapshot(ctx, "available")
	machines, zones := r.assertAvailable(ctx)
	fmt.Printf("box: %s (%s): Available in %.0f s (every node in %.0f s), %d machines in %s, %d add-ons applied\n",
		strings.TrimPrefix(r.where, "box: "), c.Fixture, took.Seconds(), nodes.Seconds(), machines, zonesText(zones), len(c.Addons))
	if t.Failed() {
		return
	}
	r.injected(ctx)
	r.paused(ctx)
	if len(c.Upgrade) > 0 && c.UpgradeExpect != nil {
		r.upgrade(ctx)
	}
	if len(c.PoolRemoved) > 0 {
		r.poolRemoved(ctx)
	}
	r.deleteCluster(ctx)
}

func zonesText(zones []string) string {
	if len(zones) == 0 {
		return "no zone"
	}
	common := ""
	if len(zones) > 1 {
		common = zones[0][:len(zones[0])-1]
		for _, z := range zones {
			if !strings.HasPrefix(z, common) || len(z) != len(common)+1 {
				common = ""
				break
			}
		}
	}
	if common == "" {
		return strings.Join(zones, ", ")
	}
	suffixes := make([]string, len(zones))
	for i, z := range zones {
		suffixes[i] = z[len(common):]
	}
	return common + strings.Join(suffixes, "/")
}

// apply server-side applies a render as a sync engine does: namespaces first, then the render's order; nothing is
// deleted.
func (r *boxRun) apply(ctx context.Context, objs []map[string]any) error {
	sorted := append([]map[string]any{}, objs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i]["kind"] == "Namespace" && sorted[j]["kind"] != "Namespace" })
	seen := map[string]bool{}
	for _, o := range sorted {
		u := &unstructured.Unstructured{Object: deepCopy(o)}
		if ns := u.GetNamespace(); ns != "" && !seen[ns] {
			seen[ns] = true
			if err := r.b.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		if err := r.b.client.Patch(ctx, u, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil { //nolint:staticcheck // unstructured objects
			return fmt.Errorf("%s/%s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

// stepUntil steps the stand-in and lets the controllers settle until done says so, or the phase times out; then it
// returns what done last said was missing.
func (r *boxRun) stepUntil(ctx context.Context, what string, step func(context.Context) string, done func(context.Context) (bool, string, error)) error {
	deadline := time.Now().Add(boxPhaseTimeout)
	missing := ""
	var stepErr error
	for time.Now().Before(deadline) {
		if _, err := r.s.Step(ctx); err != nil {
			// CAPA's controllers retry what failed; so does the stand-in, and a persistent error is reported with
			// what is missing.
			stepErr = err
		} else {
			stepErr = nil
		}
		r.settle(ctx)
		if name := step(ctx); name != "" && name != r.lastStep {
			r.snapshot(ctx, name)
		}
		ok, m, err := done(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		missing = m
	}
	if stepErr != nil {
		missing += fmt.Sprintf("; the stand-in CAPA: %v", stepErr)
	}
	return fmt.Errorf("%s: %s", what, missing)
}

// settle waits until the controllers stop writing the cluster's objects (no resourceVersion moves for a while),
// at most a few seconds: some controllers requeue periodically, so "no write at all" never comes.
func (r *boxRun) settle(ctx context.Context) {
	const quiet, most = 700 * time.Millisecond, 5 * time.Second
	last, since := "", time.Now()
	for start := time.Now(); time.Since(start) < most; time.Sleep(150 * time.Millisecond) {
		v := r.versions(ctx)
		if v != last {
			last, since = v, time.Now()
			continue
		}
		if time.Since(since) >= quiet {
			return
		}
	}
}

func (r *boxRun) versions(ctx context.Context) string {
	var b strings.Builder
	for _, o := range r.objects(ctx) {
		b.WriteString(o.GetKind() + "/" + o.GetName() + "@" + o.GetResourceVersion() + " ")
	}
	return b.String()
}

// objects lists the cluster's objects of boxKinds: those labelled with the cluster's name, the Cluster itself, and
// the ClusterResourceSets of its namespace.
func (r *boxRun) objects(ctx context.Context) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, gvk := range boxKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := r.b.client.List(ctx, list, client.InNamespace(r.c.Namespace)); err != nil {
			continue
		}
		for i := range list.Items {
			o := &list.Items[i]
			if o.GetLabels()[clusterv1.ClusterNameLabel] == r.c.Name || (gvk.Kind == "Cluster" && o.GetName() == r.c.Name) || gvk.Kind == "ClusterResourceSet" {
				out = append(out, o)
			}
		}
	}
	return out
}

func (r *boxRun) snapshot(ctx context.Context, step string) {
	r.lastStep = step
	boxSnapshots = append(boxSnapshots, boxSnapshot{Cluster: r.key.String(), Step: step, Objects: r.objects(ctx)})
}

func (r *boxRun) cluster(ctx context.Context) (*clusterv1.Cluster, error) {
	c := &clusterv1.Cluster{}
	return c, r.b.client.Get(ctx, r.key, c)
}

// phaseStep names the provisioning step the cluster is in.
func (r *boxRun) phaseStep(ctx context.Context) string {
	c, err := r.cluster(ctx)
	switch {
	case err != nil:
		return ""
	case conditions.IsTrue(c, clusterv1.AvailableCondition):
		return ""
	case !ptr.Deref(c.Status.Initialization.InfrastructureProvisioned, false):
		return "infrastructure provisioning"
	case !ptr.Deref(c.Status.Initialization.ControlPlaneInitialized, false):
		return "control plane initializing"
	default:
		return "workers joining"
	}
}

// available: the Cluster's v1beta2 Available condition is True; otherwise what is missing, as the Cluster's
// conditions say it.
func (r *boxRun) available(ctx context.Context) (bool, string, error) {
	c, err := r.cluster(ctx)
	if err != nil {
		return false, "", err
	}
	if conditions.IsTrue(c, clusterv1.AvailableCondition) {
		return true, "", nil
	}
	return false, notTrue(c.Status.Conditions), nil
}

// replicasReady: the control plane and every pool at their replica count with ready nodes.
func (r *boxRun) replicasReady(ctx context.Context) (bool, string, error) {
	for _, o := range r.objects(ctx) {
		kind := o.GetKind()
		if kind != "KubeadmControlPlane" && kind != "MachineDeployment" && kind != "MachinePool" {
			continue
		}
		want := nestedInt(o, "spec", "replicas")
		ready := nestedInt(o, "status", "readyReplicas")
		if kind == "MachinePool" {
			refs, _, _ := unstructured.NestedSlice(o.Object, "status", "nodeRefs")
			ready = min(ready, int64(len(refs)))
		}
		if ready != want {
			return false, fmt.Sprintf("%s/%s: %d of %d replicas ready", kind, o.GetName(), ready, want), nil
		}
	}
	return true, "", nil
}

// notTrue lists the conditions that are not True (the negative-polarity ones that are not False), with messages.
func notTrue(conds []metav1.Condition) string {
	negative := map[string]bool{"Deleting": true, "Paused": true, "RollingOut": true, "ScalingUp": true, "ScalingDown": true, "Remediating": true, "Updating": true}
	var out []string
	for _, c := range conds {
		if (negative[c.Type] && c.Status != metav1.ConditionTrue) || (!negative[c.Type] && c.Status == metav1.ConditionTrue) {
			continue
		}
		msg := strings.ReplaceAll(c.Message, "\n", " ")
		out = append(out, fmt.Sprintf("%s %s (%s) %s", c.Type, c.Status, c.Reason, msg))
	}
	if len(out) == 0 {
		return "no condition reported yet"
	}
	return strings.Join(out, "; ")
}

func (r *boxRun) errorf(object, format string, args ...any) {
	r.t.Errorf("%s: %s: %s", r.where, object, fmt.Sprintf(format, args...))
}

// poolOf finds the box pool of a pool object by its template's pool label, else by its name.
func (r *boxRun) poolOf(labels map[string]string, name string) *boxPool {
	for i, p := range r.c.Pools {
		if labels[poolLabel] == p.Name {
			return &r.c.Pools[i]
		}
	}
	for i, p := range r.c.Pools {
		if strings.HasPrefix(name, r.c.Name+"-"+p.Name) {
			return &r.c.Pools[i]
		}
	}
	return nil
}

// assertAvailable checks what the box must show once the cluster is Available; it returns the number of machines
// (control plane, pool machines, MachinePool instances) and the zones they are in.
func (r *boxRun) assertAvailable(ctx context.Context) (int, []string) {
	c, err := r.cluster(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, cond := range []string{clusterv1.ClusterControlPlaneInitializedCondition, clusterv1.ClusterRemoteConnectionProbeCondition} {
		if !conditions.IsTrue(c, cond) {
			r.errorf("Cluster/"+c.Name, "condition %s is not True: %s", cond, notTrue(c.Status.Conditions))
		}
	}
	ac := &infrav1.AWSCluster{}
	if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Spec.InfrastructureRef.Name}, ac); err != nil {
		r.t.Fatalf("%s: AWSCluster/%s: %v", r.where, c.Spec.InfrastructureRef.Name, err)
	}
	subnetZones := map[string]string{}
	for _, sn := range ac.Spec.NetworkSpec.Subnets.FilterPrivate() {
		if sn.ResourceID != "" {
			subnetZones[sn.AvailabilityZone] = sn.ResourceID
		}
	}
	zoneSet := map[string]bool{}
	count := 0
	inZone := func(object, zone string, allowed []string) {
		zoneSet[zone] = true
		count++
		if len(allowed) > 0 && !contains(allowed, zone) {
			r.errorf(object, "in zone %q, not one of its pool's zones %v", zone, allowed)
		}
		if _, ok := subnetZones[zone]; !ok {
			r.errorf(object, "in zone %q, where AWSCluster/%s has no private subnet", zone, ac.Name)
		}
	}

	// Control plane: the replica count, each machine with its node.
	kcp := &controlplanev1.KubeadmControlPlane{}
	if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Spec.ControlPlaneRef.Name}, kcp); err != nil {
		r.t.Fatalf("%s: KubeadmControlPlane/%s: %v", r.where, c.Spec.ControlPlaneRef.Name, err)
	}
	if got := ptr.Deref(kcp.Status.ReadyReplicas, 0); int(got) != r.c.ControlPlaneReplicas {
		r.errorf("KubeadmControlPlane/"+kcp.Name, "%d ready replicas, the spec says %d", got, r.c.ControlPlaneReplicas)
	}
	machines := &clusterv1.MachineList{}
	if err := r.b.client.List(ctx, machines, client.InNamespace(c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: c.Name}); err != nil {
		r.t.Fatal(err)
	}
	perPool := map[string]int{}
	cp := 0
	for _, m := range machines.Items {
		object := "Machine/" + m.Name
		if !m.Status.NodeRef.IsDefined() {
			r.errorf(object, "no nodeRef: %s", notTrue(m.Status.Conditions))
		}
		zone := m.Spec.FailureDomain
		if zone == "" {
			zone = zoneOf(m.Spec.ProviderID)
		}
		if isControlPlane(&m) {
			cp++
			inZone("KubeadmControlPlane/"+kcp.Name+": "+object, zone, r.c.Zones)
			continue
		}
		md := m.Labels[clusterv1.MachineDeploymentNameLabel]
		p := r.poolOf(m.Labels, md)
		if p == nil {
			r.errorf(object, "belongs to no pool of the spec (labels %v)", m.Labels)
			continue
		}
		perPool[p.Name]++
		inZone("MachineDeployment/"+md+": "+object, zone, p.Zones)
	}
	if cp != r.c.ControlPlaneReplicas {
		r.errorf("KubeadmControlPlane/"+kcp.Name, "%d control-plane machines, the spec says %d", cp, r.c.ControlPlaneReplicas)
	}

	// MachinePool instances: each provider ID in a zone of the pool, with a node.
	mps := &clusterv1.MachinePoolList{}
	if err := r.b.client.List(ctx, mps, client.InNamespace(c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: c.Name}); err != nil {
		r.t.Fatal(err)
	}
	for _, mp := range mps.Items {
		object := "MachinePool/" + mp.Name
		p := r.poolOf(mp.Spec.Template.Labels, mp.Name)
		if p == nil {
			r.errorf(object, "belongs to no pool of the spec")
			continue
		}
		amp := &expinfrav1.AWSMachinePool{}
		if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: mp.Namespace, Name: mp.Spec.Template.Spec.InfrastructureRef.Name}, amp); err != nil {
			r.errorf(object, "its AWSMachinePool: %v", err)
			continue
		}
		if len(mp.Status.NodeRefs) != len(amp.Spec.ProviderIDList) {
			r.errorf(object, "%d node refs for %d instances", len(mp.Status.NodeRefs), len(amp.Spec.ProviderIDList))
		}
		for _, pid := range amp.Spec.ProviderIDList {
			perPool[p.Name]++
			inZone(object+": instance "+pid, zoneOf(pid), p.Zones)
		}
	}
	for _, p := range r.c.Pools {
		if perPool[p.Name] != p.Replicas {
			r.errorf(p.Kind+"s of pool "+p.Name, "%d machines, the spec says %d", perPool[p.Name], p.Replicas)
		}
	}

	r.assertAddons(ctx, c)
	var zones []string
	for z := range zoneSet {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	return count, zones
}

// assertAddons: each ClusterResourceSet applied to the cluster (binding and condition) and each object it carries
// present in the workload API server.
func (r *boxRun) assertAddons(ctx context.Context, c *clusterv1.Cluster) {
	binding := &addonsv1.ClusterResourceSetBinding{}
	if err := r.b.client.Get(ctx, r.key, binding); err != nil {
		if len(r.c.Addons) > 0 {
			r.errorf("ClusterResourceSetBinding/"+c.Name, "%v", err)
		}
		return
	}
	wc, err := r.w.Client()
	if err != nil {
		r.errorf("Cluster/"+c.Name, "workload API server client: %v", err)
		return
	}
	for _, a := range r.c.Addons {
		object := "ClusterResourceSet/" + a.ClusterResourceSet
		crs := &addonsv1.ClusterResourceSet{}
		if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: a.ClusterResourceSet}, crs); err != nil {
			r.errorf(object, "%v", err)
			continue
		}
		if !conditions.IsTrue(crs, addonsv1.ClusterResourceSetResourcesAppliedCondition) {
			r.errorf(object, "not applied: %s", notTrue(crs.Status.Conditions))
		}
		var bound *addonsv1.ResourceSetBinding
		for i := range binding.Spec.Bindings {
			if binding.Spec.Bindings[i].ClusterResourceSetName == a.ClusterResourceSet {
				bound = &binding.Spec.Bindings[i]
			}
		}
		if bound == nil {
			r.errorf(object, "no binding to the cluster in ClusterResourceSetBinding/%s", binding.Name)
		} else {
			for _, res := range bound.Resources {
				if !ptr.Deref(res.Applied, false) {
					r.errorf(object, "%s/%s not applied", res.Kind, res.Name)
				}
			}
		}
		for _, o := range a.Objects {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(schema.FromAPIVersionAndKind(o.APIVersion, o.Kind))
			if err := wc.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, u); err != nil {
				r.errorf(object, "%s %s/%s is not in the workload API server: %v", o.Kind, o.Namespace, o.Name, err)
			}
		}
	}
}

// faults: a cluster with planted faults is stepped until each fault shows in what the controllers report (or the
// phase times out); each is reported as a failure naming the cluster and the object.
func (r *boxRun) faults(ctx context.Context) {
	reports := map[int]string{}
	find := func(ctx context.Context) (bool, string, error) {
		var missing []string
		for i, f := range r.c.Faults {
			if _, ok := reports[i]; ok {
				continue
			}
			if msg := r.faultReport(ctx, f); msg != "" {
				reports[i] = msg
				continue
			}
			missing = append(missing, f.Kind+" on "+f.Object)
		}
		return len(missing) == 0, "not yet reported: " + strings.Join(missing, ", "), nil
	}
	err := r.stepUntil(ctx, "planted faults", r.phaseStep, find)
	for i, f := range r.c.Faults {
		if msg, ok := reports[i]; ok {
			r.t.Errorf("%s: %s: %s", r.where, f.Object, msg)
		} else {
			r.t.Errorf("%s: %s: the planted fault %q was not reported by the controllers (%v)", r.where, f.Object, f.Kind, err)
		}
	}
}

// faultReport is what the controllers report for a planted fault, "" while they report nothing.
func (r *boxRun) faultReport(ctx context.Context, f boxFault) string {
	kind, name, _ := strings.Cut(f.Object, "/")
	switch f.Kind {
	case "failure-domain":
		machines := &clusterv1.MachineList{}
		if err := r.b.client.List(ctx, machines, client.InNamespace(r.c.Namespace), client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: name}); err != nil {
			return ""
		}
		for _, m := range machines.Items {
			c := conditions.Get(&m, clusterv1.MachineInfrastructureReadyCondition)
			if c == nil || c.Status == metav1.ConditionTrue {
				continue
			}
			capi := fmt.Sprintf("Machine/%s: %s %s (%s): %s", m.Name, c.Type, c.Status, c.Reason, strings.ReplaceAll(c.Message, "\n", " "))
			if strings.Contains(c.Message, "availability zone") {
				return capi
			}
			// CAPI mirrors only the infrastructure's Ready summary; CAPA's own condition says why.
			am := &infrav1.AWSMachine{}
			if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: m.Spec.InfrastructureRef.Name}, am); err != nil {
				continue
			}
			for _, ac := range am.Status.Conditions {
				if ac.Type == infrav1.InstanceReadyCondition && ac.Status == corev1.ConditionFalse && strings.Contains(ac.Message, "availability zone") {
					return fmt.Sprintf("%s; AWSMachine/%s: %s %s (%s, %s): %s", capi, am.Name, ac.Type, ac.Status, ac.Reason, ac.Severity, ac.Message)
				}
			}
		}
	case "addon-invalid":
		// The ClusterResourceSets that carry the object: itself, one listing it (a ConfigMap or Secret), or one
		// whose payload holds it (an object inside an add-on ConfigMap: the cluster's add-on list says which).
		inPayload := map[string]bool{}
		for _, a := range r.c.Addons {
			for _, o := range a.Objects {
				if o.Kind == kind && o.Name == name {
					inPayload[a.ClusterResourceSet] = true
				}
			}
		}
		list := &addonsv1.ClusterResourceSetList{}
		if err := r.b.client.List(ctx, list, client.InNamespace(r.c.Namespace)); err != nil {
			return ""
		}
		for _, crs := range list.Items {
			carries := (kind == "ClusterResourceSet" && crs.Name == name) || crsHasResource(&crs, kind, name) || inPayload[crs.Name]
			if !carries {
				continue
			}
			if c := conditions.Get(&crs, addonsv1.ClusterResourceSetResourcesAppliedCondition); c != nil && c.Status == metav1.ConditionFalse {
				return fmt.Sprintf("ClusterResourceSet/%s: %s %s (%s): %s%s", crs.Name, c.Type, c.Status, c.Reason, strings.ReplaceAll(c.Message, "\n", " "), r.refused(ctx, &crs))
			}
		}
	case "crs-no-cluster":
		crs := &addonsv1.ClusterResourceSet{}
		if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: r.c.Namespace, Name: name}, crs); err != nil {
			return ""
		}
		// The controller has nothing to report: the selector matches no Cluster, so there is no binding. Once the
		// cluster's own add-ons are bound (the controller has run), the absence is the finding.
		binding := &addonsv1.ClusterResourceSetBinding{}
		if err := r.b.client.Get(ctx, r.key, binding); err != nil {
			return ""
		}
		for _, b := range binding.Spec.Bindings {
			if b.ClusterResourceSetName == name {
				return ""
			}
		}
		if len(binding.Spec.Bindings) == 0 {
			return ""
		}
		sel, _ := metav1.LabelSelectorAsSelector(&crs.Spec.ClusterSelector)
		return fmt.Sprintf("selects no Cluster (selector %s): no ClusterResourceSetBinding names it, its resources are applied nowhere", sel)
	}
	return ""
}

// refused names what the workload API server refuses of a ClusterResourceSet's payload (the controller only
// logs it): each object of its ConfigMaps and Secrets created as a server-side dry run.
func (r *boxRun) refused(ctx context.Context, crs *addonsv1.ClusterResourceSet) string {
	wc, err := r.w.Client()
	if err != nil {
		return fmt.Sprintf("; (the workload API server is not reachable to say which object it refuses: %v)", err)
	}
	var out []string
	for _, res := range crs.Spec.Resources {
		var data map[string]string
		switch res.Kind {
		case "ConfigMap":
			cm := &corev1.ConfigMap{}
			if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: crs.Namespace, Name: res.Name}, cm); err != nil {
				continue
			}
			data = cm.Data
		case "Secret":
			sec := &corev1.Secret{}
			if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: crs.Namespace, Name: res.Name}, sec); err != nil {
				continue
			}
			data = map[string]string{}
			for k, v := range sec.Data {
				data[k] = string(v)
			}
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, doc := range strings.Split(data[k], "\n---") {
				u := &unstructured.Unstructured{}
				if strings.TrimSpace(doc) == "" {
					continue
				}
				if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
					out = append(out, fmt.Sprintf("%s/%s key %s: not YAML: %v", res.Kind, res.Name, k, err))
					continue
				}
				if u.Object == nil || u.GetKind() == "" {
					continue
				}
				if err := wc.Create(ctx, u, client.DryRunAll); err != nil && !apierrors.IsAlreadyExists(err) {
					out = append(out, fmt.Sprintf("%s/%s: %s %s refused by the workload API server: %v", res.Kind, res.Name, u.GetKind(), key(u), err))
				}
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "; " + strings.Join(out, "; ")
}

func crsHasResource(crs *addonsv1.ClusterResourceSet, kind, name string) bool {
	for _, res := range crs.Spec.Resources {
		if res.Kind == kind && res.Name == name {
			return true
		}
	}
	return false
}

// injected plants the stand-in's faults one after another on the Available cluster, snapshots what the
// controllers report, then clears the fault and waits for the cluster to be Available again.
func (r *boxRun) injected(ctx context.Context) {
	c, err := r.cluster(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	ac := &infrav1.AWSCluster{}
	if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Spec.InfrastructureRef.Name}, ac); err != nil {
		r.t.Fatal(err)
	}
	type plant struct {
		step  string
		fault standInFault
		shows func(context.Context) (bool, string, error)
	}
	plants := []plant{{step: "subnet fault", fault: standInFault{Kind: faultSubnet, Target: r.c.Zones[len(r.c.Zones)-1]}, shows: func(ctx context.Context) (bool, string, error) {
		a := &infrav1.AWSCluster{}
		if err := r.b.client.Get(ctx, client.ObjectKeyFromObject(ac), a); err != nil {
			return false, "", err
		}
		if !v1beta1False(a.Status.Conditions, infrav1.SubnetsReadyCondition) {
			return false, "AWSCluster SubnetsReady not False", nil
		}
		// Then CAPI's turn: the Cluster mirrors the AWSCluster's Ready into InfrastructureReady.
		c, err := r.cluster(ctx)
		if err != nil {
			return false, "", err
		}
		return !conditions.IsTrue(c, clusterv1.ClusterInfrastructureReadyCondition), "Cluster InfrastructureReady still True", nil
	}}}
	mps := &expinfrav1.AWSMachinePoolList{}
	if err := r.b.client.List(ctx, mps, client.InNamespace(c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: c.Name}); err == nil && len(mps.Items) > 0 {
		amp := mps.Items[0]
		mpName, _ := ownedBy(&amp, "MachinePool")
		plants = append(plants, plant{step: "launch template rejected", fault: standInFault{Kind: faultLaunchTemplate, Target: mpName}, shows: func(ctx context.Context) (bool, string, error) {
			a := &expinfrav1.AWSMachinePool{}
			if err := r.b.client.Get(ctx, client.ObjectKeyFromObject(&amp), a); err != nil {
				return false, "", err
			}
			return v1beta1False(a.Status.Conditions, expinfrav1.LaunchTemplateReadyCondition), "AWSMachinePool LaunchTemplateReady not False", nil
		}})
	}
	for _, p := range plants {
		r.plant(ctx, p.step, p.fault, p.shows)
	}
	r.instanceNeverReady(ctx)
}

// plant injects one stand-in fault, waits for it to show, snapshots, clears it and waits for the cluster to be
// Available again with nothing failing.
func (r *boxRun) plant(ctx context.Context, step string, fault standInFault, shows func(context.Context) (bool, string, error)) {
	r.s.Inject(fault)
	if err := r.stepUntil(ctx, step, func(context.Context) string { return "" }, shows); err != nil {
		r.errorf("stand-in fault "+string(fault.Kind), "%v", err)
	}
	r.snapshot(ctx, step)
	r.s.faults = nil
	if err := r.stepUntil(ctx, "Available again after "+step, func(context.Context) string { return "" }, r.availableAndClear); err != nil {
		r.errorf("Cluster/"+r.c.Name, "%v", err)
	}
}

// instanceNeverReady scales the first MachineDeployment up by one with the instance fault planted: the new
// machine's instance never runs (EC2 stops it); snapshot, then clear and scale back.
func (r *boxRun) instanceNeverReady(ctx context.Context) {
	mds := &clusterv1.MachineDeploymentList{}
	if err := r.b.client.List(ctx, mds, client.InNamespace(r.c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: r.c.Name}); err != nil || len(mds.Items) == 0 {
		return
	}
	sort.Slice(mds.Items, func(i, j int) bool { return mds.Items[i].Name < mds.Items[j].Name })
	md := mds.Items[0]
	scale := func(n int32) error {
		cur := &clusterv1.MachineDeployment{}
		if err := r.b.client.Get(ctx, client.ObjectKeyFromObject(&md), cur); err != nil {
			return err
		}
		before := cur.DeepCopy()
		cur.Spec.Replicas = ptr.To(n)
		return r.b.client.Patch(ctx, cur, client.MergeFrom(before))
	}
	replicas := ptr.Deref(md.Spec.Replicas, 1)
	r.s.faultyMachine = ""
	r.s.Inject(standInFault{Kind: faultInstance})
	if err := scale(replicas + 1); err != nil {
		r.errorf("MachineDeployment/"+md.Name, "scaling up: %v", err)
		return
	}
	stopped := func(ctx context.Context) (bool, string, error) {
		ams := &infrav1.AWSMachineList{}
		if err := r.b.client.List(ctx, ams, client.InNamespace(r.c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: r.c.Name}); err != nil {
			return false, "", err
		}
		for _, am := range ams.Items {
			if ptr.Deref(am.Status.InstanceState, "") == infrav1.InstanceStateStopped {
				return true, "", nil
			}
		}
		return false, "no AWSMachine with a stopped instance", nil
	}
	if err := r.stepUntil(ctx, "instance never ready", func(context.Context) string { return "" }, stopped); err != nil {
		r.errorf("stand-in fault instance", "%v", err)
	}
	r.snapshot(ctx, "instance never ready")
	r.s.faults = nil
	r.s.faultyMachine = ""
	if err := scale(replicas); err != nil {
		r.errorf("MachineDeployment/"+md.Name, "scaling down: %v", err)
		return
	}
	// Settled as the engines see it too: the scaled-down machine is gone, not still deleting (Progressing), so the
	// "paused" step after this one pauses a settled cluster whatever the timing.
	done := func(ctx context.Context) (bool, string, error) {
		if ok, m, err := r.availableAndClear(ctx); !ok || err != nil {
			return ok, m, err
		}
		if ok, m, err := r.replicasReady(ctx); !ok || err != nil {
			return ok, m, err
		}
		return r.engineSettled(ctx)
	}
	if err := r.stepUntil(ctx, "Available again after the instance fault", func(context.Context) string { return "" }, done); err != nil {
		r.errorf("Cluster/"+r.c.Name, "%v", err)
	}
}

// availableAndClear: Available, and no CAPA object reports a False v1beta1 Ready any more.
func (r *boxRun) availableAndClear(ctx context.Context) (bool, string, error) {
	ok, missing, err := r.available(ctx)
	if !ok || err != nil {
		return ok, missing, err
	}
	for _, o := range r.objects(ctx) {
		if o.GetObjectKind().GroupVersionKind().Group != infrav1.GroupVersion.Group {
			continue
		}
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Ready" && m["status"] != "True" {
				return false, fmt.Sprintf("%s/%s Ready %v", o.GetKind(), o.GetName(), m["status"]), nil
			}
		}
	}
	return true, "", nil
}

func v1beta1False(conds clusterv1beta1.Conditions, t clusterv1beta1.ConditionType) bool {
	for _, c := range conds {
		if c.Type == t && c.Status == corev1.ConditionFalse {
			return true
		}
	}
	return false
}

// paused: the Cluster paused as `clusterctl move` or a user does; every controller (and the stand-in) stops, the
// snapshot is what the health checks see then; unpaused it comes back.
func (r *boxRun) paused(ctx context.Context) {
	set := func(p bool) error {
		c, err := r.cluster(ctx)
		if err != nil {
			return err
		}
		before := c.DeepCopy()
		c.Spec.Paused = ptr.To(p)
		return r.b.client.Patch(ctx, c, client.MergeFrom(before))
	}
	if err := set(true); err != nil {
		r.errorf("Cluster/"+r.c.Name, "pausing: %v", err)
		return
	}
	err := r.stepUntil(ctx, "paused", func(context.Context) string { return "" }, func(ctx context.Context) (bool, string, error) {
		c, err := r.cluster(ctx)
		if err != nil {
			return false, "", err
		}
		return conditions.IsTrue(c, clusterv1.PausedCondition), "Cluster Paused condition not True", nil
	})
	if err != nil {
		r.errorf("Cluster/"+r.c.Name, "%v", err)
	}
	r.snapshot(ctx, "paused")
	if err := set(false); err != nil {
		r.errorf("Cluster/"+r.c.Name, "unpausing: %v", err)
		return
	}
	if err := r.stepUntil(ctx, "Available after unpausing", func(context.Context) string { return "" }, r.available); err != nil {
		r.errorf("Cluster/"+r.c.Name, "%v", err)
	}
}

// machineSet is the names of the cluster's machines by owner ("KubeadmControlPlane" or the pool name) and, for
// MachinePools, the instances' provider IDs.
func (r *boxRun) machinesByOwner(ctx context.Context) (map[string][]string, map[string]time.Time, error) {
	out := map[string][]string{}
	created := map[string]time.Time{}
	machines := &clusterv1.MachineList{}
	if err := r.b.client.List(ctx, machines, client.InNamespace(r.c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: r.c.Name}); err != nil {
		return nil, nil, err
	}
	for _, m := range machines.Items {
		if !m.DeletionTimestamp.IsZero() {
			continue
		}
		owner := "KubeadmControlPlane"
		if !isControlPlane(&m) {
			owner = m.Labels[poolLabel]
			if p := r.poolOf(m.Labels, m.Labels[clusterv1.MachineDeploymentNameLabel]); owner == "" && p != nil {
				owner = p.Name
			}
			if owner == "" {
				continue
			}
		}
		out[owner] = append(out[owner], m.Name)
		created[m.Name] = m.CreationTimestamp.Time
	}
	amps := &expinfrav1.AWSMachinePoolList{}
	if err := r.b.client.List(ctx, amps, client.InNamespace(r.c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: r.c.Name}); err != nil {
		return nil, nil, err
	}
	for _, amp := range amps.Items {
		mpName, _ := ownedBy(&amp, "MachinePool")
		mp := &clusterv1.MachinePool{}
		if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: amp.Namespace, Name: mpName}, mp); err != nil {
			continue
		}
		owner := mp.Spec.Template.Labels[poolLabel]
		if p := r.poolOf(nil, mpName); owner == "" && p != nil {
			owner = p.Name
		}
		for _, i := range amp.Status.Instances {
			out[owner] = append(out[owner], i.InstanceID)
		}
	}
	return out, created, nil
}

// rolledOut: Available, nothing rolling out, every pool object up to date; else what is missing, with what holds
// the MachineSets back (their preflight checks).
func (r *boxRun) rolledOut(ctx context.Context) (bool, string, error) {
	ok, missing, err := r.rolledOutOnly(ctx)
	if ok || err != nil {
		return ok, missing, err
	}
	sets := &clusterv1.MachineSetList{}
	if err := r.b.client.List(ctx, sets, client.InNamespace(r.c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: r.c.Name}); err == nil {
		for _, ms := range sets.Items {
			if c := conditions.Get(&ms, clusterv1.MachineSetScalingUpCondition); c != nil && c.Status == metav1.ConditionTrue && c.Message != "" {
				missing += fmt.Sprintf("; MachineSet/%s %s: %s", ms.Name, c.Type, strings.ReplaceAll(c.Message, "\n", " "))
			}
		}
	}
	return false, missing, nil
}

func (r *boxRun) rolledOutOnly(ctx context.Context) (bool, string, error) {
	ok, missing, err := r.available(ctx)
	if !ok || err != nil {
		return ok, missing, err
	}
	for _, o := range r.objects(ctx) {
		switch o.GetKind() {
		case "KubeadmControlPlane", "MachineDeployment", "MachinePool", "Cluster":
		default:
			continue
		}
		if o.GetGeneration() != nestedInt(o, "status", "observedGeneration") {
			return false, fmt.Sprintf("%s/%s not observed yet", o.GetKind(), o.GetName()), nil
		}
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if (m["type"] == "RollingOut" || m["type"] == "ScalingUp" || m["type"] == "ScalingDown") && m["status"] == "True" {
				return false, fmt.Sprintf("%s/%s %s: %v", o.GetKind(), o.GetName(), m["type"], m["message"]), nil
			}
		}
		if o.GetKind() != "Cluster" {
			replicas, upToDate := nestedInt(o, "status", "replicas"), nestedInt(o, "status", "upToDateReplicas")
			if o.GetKind() != "MachinePool" && replicas != upToDate {
				return false, fmt.Sprintf("%s/%s %d of %d replicas up to date", o.GetKind(), o.GetName(), upToDate, replicas), nil
			}
		}
	}
	amps := &expinfrav1.AWSMachinePoolList{}
	if err := r.b.client.List(ctx, amps, client.InNamespace(r.c.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: r.c.Name}); err != nil {
		return false, "", err
	}
	for _, amp := range amps.Items {
		for _, i := range amp.Status.Instances {
			if ptr.Deref(i.Version, "") != ptr.Deref(amp.Status.LaunchTemplateVersion, "") {
				return false, fmt.Sprintf("AWSMachinePool/%s instance %s on an old launch template version", amp.Name, i.InstanceID), nil
			}
		}
	}
	return true, "", nil
}

func nestedInt(o *unstructured.Unstructured, path ...string) int64 {
	v, _, _ := unstructured.NestedInt64(o.Object, path...)
	return v
}

// upgrade applies the accepted change like a sync does and checks what rolled.
func (r *boxRun) upgrade(ctx context.Context) {
	before, _, err := r.machinesByOwner(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.apply(ctx, r.c.Upgrade); err != nil {
		r.t.Errorf("%s: applying the upgrade: %v", r.where, err)
		return
	}
	began := time.Now()
	rolling := func(ctx context.Context) string {
		if ok, _, _ := r.rolledOutOnly(ctx); ok {
			return ""
		}
		return "rolling out"
	}
	if err := r.stepUntil(ctx, "upgrade", rolling, r.rolledOut); err != nil {
		r.t.Errorf("%s: the upgrade did not settle: %v", r.where, err)
		return
	}
	after, created, err := r.machinesByOwner(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	kept := func(owner string) bool {
		for _, m := range after[owner] {
			if !contains(before[owner], m) {
				return false
			}
		}
		return len(after[owner]) > 0
	}
	replaced := func(owner string) bool {
		for _, m := range after[owner] {
			if contains(before[owner], m) {
				return false
			}
		}
		return len(after[owner]) > 0
	}
	e := r.c.UpgradeExpect
	if e.ControlPlane && !replaced("KubeadmControlPlane") {
		r.errorf("KubeadmControlPlane", "the upgrade must replace every control-plane machine: before %v, after %v", before["KubeadmControlPlane"], after["KubeadmControlPlane"])
	}
	if !e.ControlPlane && !kept("KubeadmControlPlane") {
		r.errorf("KubeadmControlPlane", "the upgrade must keep the control-plane machines: before %v, after %v", before["KubeadmControlPlane"], after["KubeadmControlPlane"])
	}
	var lastCP time.Time
	for _, m := range after["KubeadmControlPlane"] {
		if created[m].After(lastCP) {
			lastCP = created[m]
		}
	}
	for _, name := range e.PoolsAdded {
		if len(after[name]) == 0 {
			r.errorf("pool "+name, "added by the upgrade, but no machine came up")
		}
	}
	for _, p := range r.c.Pools {
		switch {
		case contains(e.PoolsAdded, p.Name):
			if len(after[p.Name]) == 0 {
				r.errorf("pool "+p.Name, "added by the upgrade, but no machine came up")
			}
		case contains(e.PoolsRolled, p.Name):
			// A pool at zero machines (an autoscaled pool's minimum of 0) has nothing to replace.
			if len(before[p.Name]) > 0 && !replaced(p.Name) {
				r.errorf("pool "+p.Name, "the upgrade must replace its machines: before %v, after %v", before[p.Name], after[p.Name])
			}
			for _, m := range after[p.Name] {
				if t, ok := created[m]; ok && e.ControlPlane && t.Before(lastCP) {
					r.errorf("pool "+p.Name, "Machine/%s was created before the control plane finished rolling", m)
				}
			}
		default:
			if !kept(p.Name) {
				r.errorf("pool "+p.Name, "the upgrade must keep its machines: before %v, after %v", before[p.Name], after[p.Name])
			}
		}
	}
	r.assertTemplates(ctx, r.c.Upgrade)
	fmt.Printf("%s: upgrade rolled out in %.0f s (control plane %v, pools rolled %v)\n", r.where, time.Since(began).Seconds(), e.ControlPlane, e.PoolsRolled)
}

// assertTemplates: every template the render references exists.
func (r *boxRun) assertTemplates(ctx context.Context, render []map[string]any) {
	for _, o := range render {
		u := &unstructured.Unstructured{Object: o}
		var refs [][]string
		switch u.GetKind() {
		case "KubeadmControlPlane":
			refs = [][]string{{"spec", "machineTemplate", "spec", "infrastructureRef"}}
		case "MachineDeployment", "MachinePool":
			refs = [][]string{{"spec", "template", "spec", "infrastructureRef"}, {"spec", "template", "spec", "bootstrap", "configRef"}}
		}
		for _, path := range refs {
			ref, ok, _ := unstructured.NestedStringMap(u.Object, path...)
			if !ok || ref["kind"] == "" || !strings.HasSuffix(ref["kind"], "Template") {
				continue
			}
			t := &unstructured.Unstructured{}
			version := "v1beta2"
			t.SetGroupVersionKind(schema.GroupVersionKind{Group: ref["apiGroup"], Version: version, Kind: ref["kind"]})
			if err := r.b.client.Get(ctx, client.ObjectKey{Namespace: u.GetNamespace(), Name: ref["name"]}, t); err != nil {
				r.errorf(u.GetKind()+"/"+u.GetName(), "references %s/%s: %v", ref["kind"], ref["name"], err)
			}
		}
	}
}

// poolRemoved applies the render without the last pool: the sync deletes nothing, so the pool's objects stay.
func (r *boxRun) poolRemoved(ctx context.Context) {
	if err := r.apply(ctx, r.c.PoolRemoved); err != nil {
		r.t.Errorf("%s: applying the render without the last pool: %v", r.where, err)
		return
	}
	kept := map[string]bool{}
	for _, o := range r.c.PoolRemoved {
		u := &unstructured.Unstructured{Object: o}
		kept[u.GetKind()+"/"+u.GetName()] = true
	}
	r.settle(ctx)
	left := 0
	defer func() {
		if !r.t.Failed() {
			fmt.Printf("%s: the render without the last pool applied; the %d objects it no longer has are all still there (the sync deletes nothing)\n", r.where, left)
		}
	}()
	for _, o := range r.c.Create {
		u := &unstructured.Unstructured{Object: deepCopy(o)}
		if kept[u.GetKind()+"/"+u.GetName()] {
			continue
		}
		left++
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		if err := r.b.client.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
			r.errorf(u.GetKind()+"/"+u.GetName(), "left the render; the sync deletes nothing (README \"No cascade deletes by the sync\"), yet: %v", err)
		}
	}
}

// deleteCluster deletes the Cluster object (the supported way): the controllers delete the machines, the control
// plane and the infrastructure.
func (r *boxRun) deleteCluster(ctx context.Context) {
	c, err := r.cluster(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	began := time.Now()
	if err := r.b.client.Delete(ctx, c); err != nil {
		r.errorf("Cluster/"+c.Name, "deleting: %v", err)
		return
	}
	gone := func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, o := range r.objects(ctx) {
			if o.GetKind() != "ClusterResourceSet" && o.GetKind() != "MachineHealthCheck" {
				left = append(left, o.GetKind()+"/"+o.GetName())
			}
		}
		return len(left) == 0, "still there: " + strings.Join(left, ", "), nil
	}
	if err := r.stepUntil(ctx, "deletion", func(context.Context) string { return "" }, gone); err != nil {
		r.errorf("Cluster/"+c.Name, "deleting the Cluster did not delete what it owns: %v", err)
		return
	}
	fmt.Printf("%s: deleted (machines, control plane, infrastructure) in %.0f s\n", r.where, time.Since(began).Seconds())
}

// engineSettled: the generated checks on the cluster's objects now give a Healthy Argo CD Application and a Ready
// Flux Kustomization; else what holds them.
func (r *boxRun) engineSettled(ctx context.Context) (bool, string, error) {
	if in.Box == nil || in.Box.HealthBinary == "" || len(in.Box.Checks) == 0 {
		return true, "", nil
	}
	objs := r.objects(ctx)
	us := make([]unstructured.Unstructured, len(objs))
	for i, o := range objs {
		us[i] = *o
	}
	results, err := evaluateHealth(ctx, in.Box.HealthBinary, in.Box.Checks, us)
	if err != nil {
		return false, "", err
	}
	results = enginesInUse(in.Box.Checks, results)
	app, ks := applicationHealth(results), kustomizationHealth(results)
	// "—": the engine has no check for any of the objects (the repository syncs with the other engine).
	if (app == "Healthy" || app == "—") && ks == "Ready" {
		return true, "", nil
	}
	var holding []string
	for _, res := range results {
		if (res.Argo != nil && res.Argo.Status != "Healthy") || (res.Flux != nil && res.Flux.Status != "Current") {
			a, f := "—", "—"
			if res.Argo != nil {
				a = res.Argo.Status + " (" + res.Argo.Message + ")"
			}
			if res.Flux != nil {
				f = res.Flux.Status
			}
			holding = append(holding, fmt.Sprintf("%s/%s: Argo CD %s, Flux %s", res.Kind, res.Name, a, f))
		}
	}
	return false, fmt.Sprintf("Application %s, Kustomization %s: %s", app, ks, strings.Join(holding, "; ")), nil
}
