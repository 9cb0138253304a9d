package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
)

// The rings run: a repository of three rollout rings (one cluster each) synced from Git by the real Flux
// kustomize-controller (built from the pinned module by `npm run e2e`) into the box's management cluster, where the
// real CAPI controllers and the stand-in CAPA reconcile what it applies. The box plays source-controller: it serves
// each revision of the repository as a tarball on 127.0.0.1 and writes the GitRepository's artifact as
// source-controller does. Everything else — the Kustomizations, their dependsOn between rings, their health checks,
// the service account they apply as — is the generated management/sync, applied once as the bootstrap applies it.
//
// The claim under test (README "Rolling a change through the fleet"): a revision reaches a ring only once every
// cluster of the ring before it is Available at that revision; a ring whose cluster is Degraded stops the wave.

type ringsInput struct {
	Controller string `json:"controller"`
	Source     struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"source"`
	Sync      []map[string]any `json:"sync"`
	StandIns  []string         `json:"standIns"`
	Rings     []ringsRing      `json:"rings"`
	Revisions []ringsRevision  `json:"revisions"`
}

type ringsRing struct {
	Name     string         `json:"name"`
	Clusters []ringsCluster `json:"clusters"`
}

type ringsCluster struct {
	Cluster       boxCluster `json:"cluster"`
	Kustomization string     `json:"kustomization"`
}

type ringsRevision struct {
	Name     string `json:"name"`
	Revision string `json:"revision"`
	Dir      string `json:"dir"`
	// Templates: per cluster, the KubeadmConfigTemplate its render at this revision names.
	Templates map[string]string `json:"templates"`
}

const (
	// ringPhaseTimeout bounds one ring's part of a wave (apply, roll out, Available, Ready at the revision).
	ringPhaseTimeout = 5 * time.Minute
	// ringHold is how long the run watches the later rings stay put behind a Degraded ring.
	ringHold = 45 * time.Second
	// requeueDependency replaces kustomize-controller's 30 s between dependency checks, so the run is short; it is a
	// controller flag, not part of the generated manifests.
	requeueDependency = "2s"
)

var (
	kustomizationGVK = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}
	gitRepositoryGVK = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}
)

// ringsRun is the run's state: the box, one boxRun per cluster, and what it saw when.
type ringsRun struct {
	t       *testing.T
	b       *boxManagement
	in      *ringsInput
	runs    map[string]*boxRun
	began   time.Time
	serving *artifactServer
	// took: per revision, when each cluster was first seen with the revision's objects applied.
	took map[string]map[string]time.Duration
	// held: per revision, the rings seen waiting on their dependencies (Ready False, DependencyNotReady).
	held map[string]map[string]bool
}

func TestRings(t *testing.T) {
	if in.Rings == nil || len(in.Rings.Rings) == 0 {
		t.Skip("E2E_INPUT has no rings run")
	}
	began := time.Now()
	b := startBox(t, "rings")
	ctx := context.Background()
	rr := &ringsRun{t: t, b: b, in: in.Rings, runs: map[string]*boxRun{}, took: map[string]map[string]time.Duration{}, held: map[string]map[string]bool{}}
	for _, ring := range rr.in.Rings {
		for _, rc := range ring.Clusters {
			c := rc.Cluster
			rr.runs[c.Name] = newBoxRun(t, b, c, fmt.Sprintf("rings: cluster %s (ring %s)", c.Name, ring.Name))
		}
	}
	if err := rr.bootstrap(ctx); err != nil {
		t.Fatalf("rings: the bootstrap (management/sync): %v", err)
	}
	srv, err := startArtifactServer(rr.in.Revisions)
	if err != nil {
		t.Fatalf("rings: the artifact server: %v", err)
	}
	rr.serving = srv
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("rings: stopping the artifact server: %v", err)
		}
	})
	stopController, err := startKustomizeController(b, rr.in.Controller, rr.in.Source.Namespace)
	if err != nil {
		t.Fatalf("rings: starting kustomize-controller: %v", err)
	}
	// Registered last, so it runs first: the controller stops before the servers it talks to.
	t.Cleanup(func() {
		if err := stopController(); err != nil {
			t.Errorf("rings: stopping kustomize-controller: %v", err)
		}
	})
	fmt.Printf("rings: management cluster, %d workload API servers and kustomize-controller up in %.1f s\n", len(rr.runs), time.Since(began).Seconds())
	rr.began = time.Now()

	revs := rr.in.Revisions
	if len(revs) < 3 {
		t.Fatalf("rings: the input has %d revisions; the run needs the creation and two changes", len(revs))
	}
	// 1. The clusters are created ring by ring.
	rr.publish(ctx, revs[0])
	rr.wave(ctx, revs[0])
	// 2. A base change released to every ring in one commit rolls out ring by ring.
	rr.publish(ctx, revs[1])
	rr.wave(ctx, revs[1])
	if t.Failed() {
		return
	}
	// 3. The first ring's cluster is Degraded when the next change comes: the wave stops there.
	rr.degradedStopsTheWave(ctx, revs[2])
}

// bootstrap applies the rendered management/sync as `kubectl apply -k management/sync` does after Flux is installed
// (Flux's own namespace exists).
func (rr *ringsRun) bootstrap(ctx context.Context) error {
	c := rr.b.client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: rr.in.Source.Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	objs := append([]map[string]any{}, rr.in.Sync...)
	sort.SliceStable(objs, func(i, j int) bool { return objs[i]["kind"] == "Namespace" && objs[j]["kind"] != "Namespace" })
	for _, o := range objs {
		u := &unstructured.Unstructured{Object: deepCopy(o)}
		if err := c.Patch(ctx, u, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil { //nolint:staticcheck // unstructured objects
			return fmt.Errorf("%s/%s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

// publish writes the GitRepository's artifact for a revision, as source-controller does once it has fetched the
// commit and stored its tarball.
func (rr *ringsRun) publish(ctx context.Context, rev ringsRevision) {
	a, ok := rr.serving.artifacts[rev.Name]
	if !ok {
		rr.t.Fatalf("rings: revision %q is not served", rev.Name)
	}
	gr := &unstructured.Unstructured{}
	gr.SetGroupVersionKind(gitRepositoryGVK)
	key := client.ObjectKey{Namespace: rr.in.Source.Namespace, Name: rr.in.Source.Name}
	if err := rr.b.client.Get(ctx, key, gr); err != nil {
		rr.t.Fatalf("rings: GitRepository %s: %v", key, err)
	}
	now := metav1.Now().UTC().Format(time.RFC3339)
	commit := rev.Revision[strings.LastIndex(rev.Revision, ":")+1:]
	status := map[string]any{
		"observedGeneration": gr.GetGeneration(),
		"conditions": []any{
			map[string]any{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "stored artifact for revision '" + rev.Revision + "'", "lastTransitionTime": now, "observedGeneration": gr.GetGeneration()},
			map[string]any{"type": "ArtifactInStorage", "status": "True", "reason": "Succeeded", "message": "stored artifact for revision '" + rev.Revision + "'", "lastTransitionTime": now, "observedGeneration": gr.GetGeneration()},
		},
		"artifact": map[string]any{
			"path":           fmt.Sprintf("gitrepository/%s/%s/%s.tar.gz", key.Namespace, key.Name, commit),
			"url":            rr.serving.url + "/" + a.file,
			"revision":       rev.Revision,
			"digest":         a.digest,
			"lastUpdateTime": now,
			"size":           int64(len(a.data)),
		},
	}
	if err := unstructured.SetNestedField(gr.Object, status, "status"); err != nil {
		rr.t.Fatal(err)
	}
	if err := rr.b.client.Status().Update(ctx, gr); err != nil {
		rr.t.Fatalf("rings: GitRepository %s: writing the artifact of %s: %v", key, rev.Name, err)
	}
	fmt.Printf("rings: +%.0f s: %s: the GitRepository's artifact is %s\n", rr.since(), rev.Name, rev.Revision)
}

func (rr *ringsRun) since() float64 { return time.Since(rr.began).Seconds() }

// kustomizationState is what a cluster's Kustomization says.
type kustomizationState struct {
	applied, attempted string
	// ready is the Ready condition's status, Unknown while the status is of an older generation; waiting is Ready
	// False for want of the dependencies (kustomize-controller sets it before it observes the generation).
	ready           metav1.ConditionStatus
	waiting         bool
	reason, message string
}

func (rr *ringsRun) kustomization(ctx context.Context, name string) (kustomizationState, error) {
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(kustomizationGVK)
	if err := rr.b.client.Get(ctx, client.ObjectKey{Namespace: rr.in.Source.Namespace, Name: name}, k); err != nil {
		return kustomizationState{}, err
	}
	s := kustomizationState{ready: metav1.ConditionUnknown}
	s.applied, _, _ = unstructured.NestedString(k.Object, "status", "lastAppliedRevision")
	s.attempted, _, _ = unstructured.NestedString(k.Object, "status", "lastAttemptedRevision")
	conds, _, _ := unstructured.NestedSlice(k.Object, "status", "conditions")
	observed, _, _ := unstructured.NestedInt64(k.Object, "status", "observedGeneration")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Ready" {
			continue
		}
		st, _ := m["status"].(string)
		s.ready = metav1.ConditionStatus(st)
		s.reason, _ = m["reason"].(string)
		s.message, _ = m["message"].(string)
		s.waiting = st == "False" && s.reason == "DependencyNotReady"
	}
	if observed != k.GetGeneration() {
		s.ready = metav1.ConditionUnknown
	}
	return s, nil
}

// readyAt: the Kustomization is Ready with the revision applied — what kustomize-controller's dependency check asks
// of a dependency (internal/controller/kustomization_controller.go checkDependencies).
func (s kustomizationState) readyAt(revision string) bool {
	return s.ready == metav1.ConditionTrue && s.applied == revision
}

// hasTaken: the cluster's KubeadmConfigTemplate of the revision is on the management cluster — Flux applied the
// revision to it (every revision names its own template).
func (rr *ringsRun) hasTaken(ctx context.Context, rc ringsCluster, rev ringsRevision) (bool, error) {
	name, ok := rev.Templates[rc.Cluster.Name]
	if !ok {
		return false, fmt.Errorf("revision %s names no KubeadmConfigTemplate for %s", rev.Name, rc.Cluster.Name)
	}
	err := rr.b.client.Get(ctx, client.ObjectKey{Namespace: rc.Cluster.Namespace, Name: name}, &bootstrapv1.KubeadmConfigTemplate{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// rolledTo: every worker Machine of the cluster was made from the revision's KubeadmConfigTemplate (its
// KubeadmConfig's cloned-from annotation, which CAPI's template cloning writes), none is being deleted, and there are
// as many as the pools want — the roll-out the revision started is over; else which Machine is not.
func (rr *ringsRun) rolledTo(ctx context.Context, rc ringsCluster, rev ringsRevision) (bool, string, error) {
	want := 0
	for _, p := range rc.Cluster.Pools {
		want += p.Replicas
	}
	machines := &clusterv1.MachineList{}
	if err := rr.b.client.List(ctx, machines, client.InNamespace(rc.Cluster.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: rc.Cluster.Name}); err != nil {
		return false, "", err
	}
	workers := 0
	for _, m := range machines.Items {
		if _, cp := m.Labels[clusterv1.MachineControlPlaneLabel]; cp {
			continue
		}
		workers++
		if !m.DeletionTimestamp.IsZero() {
			return false, fmt.Sprintf("worker Machine %s is being deleted", m.Name), nil
		}
		cfg := &bootstrapv1.KubeadmConfig{}
		if err := rr.b.client.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: m.Spec.Bootstrap.ConfigRef.Name}, cfg); err != nil {
			return false, fmt.Sprintf("worker Machine %s: its KubeadmConfig: %v", m.Name, err), nil
		}
		if from := cfg.Annotations[clusterv1.TemplateClonedFromNameAnnotation]; from != rev.Templates[rc.Cluster.Name] {
			return false, fmt.Sprintf("worker Machine %s is made from %s, not %s", m.Name, from, rev.Templates[rc.Cluster.Name]), nil
		}
	}
	if workers != want {
		return false, fmt.Sprintf("%d worker Machines, the pools want %d", workers, want), nil
	}
	return true, "", nil
}

// step does one round of the stand-in CAPA for every cluster and lets the controllers work a moment.
func (rr *ringsRun) step(ctx context.Context) {
	for _, ring := range rr.in.Rings {
		for _, rc := range ring.Clusters {
			// Errors are retried as CAPA retries; a phase that never ends reports what is missing.
			_, _ = rr.runs[rc.Cluster.Name].s.Step(ctx)
		}
	}
	time.Sleep(time.Second)
}

// observe records, for a revision, which clusters have taken it and which rings wait on their dependencies, and
// checks the claim at the moment a cluster is first seen with the revision: every cluster of the ring before its own
// is Available, and its Kustomization Ready with the revision applied.
func (rr *ringsRun) observe(ctx context.Context, rev ringsRevision) error {
	if rr.took[rev.Name] == nil {
		rr.took[rev.Name], rr.held[rev.Name] = map[string]time.Duration{}, map[string]bool{}
	}
	for i, ring := range rr.in.Rings {
		for _, rc := range ring.Clusters {
			if _, seen := rr.took[rev.Name][rc.Cluster.Name]; seen {
				continue
			}
			taken, err := rr.hasTaken(ctx, rc, rev)
			if err != nil {
				return err
			}
			if !taken {
				k, err := rr.kustomization(ctx, rc.Kustomization)
				if err != nil && !apierrors.IsNotFound(err) {
					return err
				}
				if err == nil && k.waiting {
					rr.held[rev.Name][ring.Name] = true
				}
				continue
			}
			rr.took[rev.Name][rc.Cluster.Name] = time.Since(rr.began)
			fmt.Printf("rings: +%.0f s: %s: %s (ring %s) has it applied\n", rr.since(), rev.Name, rc.Cluster.Name, ring.Name)
			if i == 0 {
				continue
			}
			for _, prev := range rr.in.Rings[i-1].Clusters {
				k, err := rr.kustomization(ctx, prev.Kustomization)
				if err != nil {
					return err
				}
				available, missing, err := rr.runs[prev.Cluster.Name].available(ctx)
				if err != nil {
					return err
				}
				rolled, notRolled, err := rr.rolledTo(ctx, prev, rev)
				if err != nil {
					return err
				}
				if !k.readyAt(rev.Revision) || !available || !rolled {
					rr.t.Errorf("rings: %s: %s (ring %s) has the revision applied while %s (ring %s) is not through it: "+
						"its Kustomization Ready %s (%s) with %q applied; its Cluster Available %v (%s); its workers %s",
						rev.Name, rc.Cluster.Name, ring.Name, prev.Cluster.Name, rr.in.Rings[i-1].Name, k.ready, k.reason, k.applied, available, missing, notRolled)
				}
			}
		}
	}
	return nil
}

// until steps and observes the revision until done says so or the timeout passes.
func (rr *ringsRun) until(ctx context.Context, rev ringsRevision, what string, timeout time.Duration, done func(context.Context) (bool, string, error)) error {
	deadline := time.Now().Add(timeout)
	missing := ""
	for time.Now().Before(deadline) {
		rr.step(ctx)
		if err := rr.observe(ctx, rev); err != nil {
			return err
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
	return fmt.Errorf("%s: not after %s: %s", what, timeout, missing)
}

// through: every cluster has the revision applied, is Available, and its Kustomization is Ready at the revision.
func (rr *ringsRun) through(rev ringsRevision, rings []ringsRing) func(context.Context) (bool, string, error) {
	return func(ctx context.Context) (bool, string, error) {
		for _, ring := range rings {
			for _, rc := range ring.Clusters {
				if _, ok := rr.took[rev.Name][rc.Cluster.Name]; !ok {
					return false, fmt.Sprintf("%s (ring %s) does not have it applied", rc.Cluster.Name, ring.Name), nil
				}
				k, err := rr.kustomization(ctx, rc.Kustomization)
				if err != nil {
					return false, "", err
				}
				if !k.readyAt(rev.Revision) {
					return false, fmt.Sprintf("%s (ring %s): Kustomization Ready %s (%s: %s), %q applied", rc.Cluster.Name, ring.Name, k.ready, k.reason, oneLine(k.message), k.applied), nil
				}
				if ok, m, err := rr.runs[rc.Cluster.Name].available(ctx); !ok || err != nil {
					return false, fmt.Sprintf("%s (ring %s): Cluster not Available: %s", rc.Cluster.Name, ring.Name, m), err
				}
				if ok, m, err := rr.rolledTo(ctx, rc, rev); !ok || err != nil {
					return false, fmt.Sprintf("%s (ring %s): %s", rc.Cluster.Name, ring.Name, m), err
				}
			}
		}
		return true, "", nil
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 240 {
		return s[:240] + "…"
	}
	return s
}

// wave waits for a revision to go through every ring, then checks that each later ring was seen held back by its
// dependencies while the ring before it worked (so the order is the controller's doing, not the timing's).
func (rr *ringsRun) wave(ctx context.Context, rev ringsRevision) {
	began := time.Since(rr.began)
	timeout := time.Duration(len(rr.in.Rings)) * ringPhaseTimeout
	if err := rr.until(ctx, rev, rev.Name+" through every ring", timeout, rr.through(rev, rr.in.Rings)); err != nil {
		rr.t.Errorf("rings: %v", err)
		return
	}
	for _, ring := range rr.in.Rings[1:] {
		if !rr.held[rev.Name][ring.Name] {
			rr.t.Errorf("rings: %s: ring %s was never seen waiting for the ring before it (Ready False, DependencyNotReady)", rev.Name, ring.Name)
		}
	}
	var order []string
	for _, ring := range rr.in.Rings {
		for _, rc := range ring.Clusters {
			order = append(order, fmt.Sprintf("%s +%.0f s", ring.Name, (rr.took[rev.Name][rc.Cluster.Name]-began).Seconds()))
		}
	}
	fmt.Printf("rings: %s: through every ring in %.0f s, in ring order (applied: %s), each later ring held by kustomize-controller until the ring before it was Available\n",
		rev.Name, (time.Since(rr.began) - began).Seconds(), strings.Join(order, ", "))
}

// degradedStopsTheWave: the first ring's cluster loses a subnet (the stand-in's subnet fault: the Cluster's
// InfrastructureReady False, which the generated health check reads as Failed); the next revision reaches that ring,
// its Kustomization fails its health check, and the later rings must not take the revision. Once the fault clears
// and the ring is reconciled again (`flux reconcile kustomization`), the wave goes on in ring order.
func (rr *ringsRun) degradedStopsTheWave(ctx context.Context, rev ringsRevision) {
	first := rr.in.Rings[0].Clusters[0]
	r := rr.runs[first.Cluster.Name]
	zone := first.Cluster.Zones[len(first.Cluster.Zones)-1]
	r.s.Inject(standInFault{Kind: faultSubnet, Target: zone})
	degraded := func(ctx context.Context) (bool, string, error) {
		c, err := r.cluster(ctx)
		if err != nil {
			return false, "", err
		}
		return conditions.IsFalse(c, clusterv1.ClusterInfrastructureReadyCondition), "Cluster InfrastructureReady not False", nil
	}
	if err := rr.until(ctx, rev, first.Cluster.Name+" Degraded", ringPhaseTimeout, degraded); err != nil {
		rr.t.Fatalf("rings: %v", err)
	}
	fmt.Printf("rings: +%.0f s: %s (ring %s) Degraded: the subnet of %s fails\n", rr.since(), first.Cluster.Name, rr.in.Rings[0].Name, zone)
	rr.publish(ctx, rev)
	var failed kustomizationState
	failedAt := func(ctx context.Context) (bool, string, error) {
		k, err := rr.kustomization(ctx, first.Kustomization)
		if err != nil {
			return false, "", err
		}
		failed = k
		if k.attempted == rev.Revision && k.ready == metav1.ConditionFalse && !k.waiting {
			return true, "", nil
		}
		return false, fmt.Sprintf("Kustomization %s: Ready %s (%s), %q attempted", first.Kustomization, k.ready, k.reason, k.attempted), nil
	}
	if err := rr.until(ctx, rev, first.Kustomization+" failing its health check at "+rev.Name, ringPhaseTimeout, failedAt); err != nil {
		rr.t.Fatalf("rings: %v", err)
	}
	fmt.Printf("rings: +%.0f s: %s: %s (ring %s) has it applied and its Kustomization fails: Ready False (%s: %s)\n",
		rr.since(), rev.Name, first.Cluster.Name, rr.in.Rings[0].Name, failed.reason, oneLine(failed.message))
	// The hold: the later rings do not take the revision, and say why.
	holdUntil := time.Now().Add(ringHold)
	if err := rr.until(ctx, rev, "the hold", 2*ringHold, func(context.Context) (bool, string, error) { return time.Now().After(holdUntil), "", nil }); err != nil {
		rr.t.Fatalf("rings: %v", err)
	}
	for _, ring := range rr.in.Rings[1:] {
		for _, rc := range ring.Clusters {
			if _, took := rr.took[rev.Name][rc.Cluster.Name]; took {
				rr.t.Errorf("rings: %s: %s (ring %s) took the revision while %s was Degraded", rev.Name, rc.Cluster.Name, ring.Name, first.Cluster.Name)
			}
		}
	}
	next := rr.in.Rings[1].Clusters[0]
	k, err := rr.kustomization(ctx, next.Kustomization)
	if err != nil {
		rr.t.Fatal(err)
	}
	if !k.waiting || k.applied == rev.Revision {
		rr.t.Errorf("rings: %s: ring %s's Kustomization %s is Ready %s (%s: %s) with %q applied; it must wait on ring %s",
			rev.Name, rr.in.Rings[1].Name, next.Kustomization, k.ready, k.reason, oneLine(k.message), k.applied, rr.in.Rings[0].Name)
	}
	fmt.Printf("rings: %s: the later rings held for %s behind the Degraded ring: %s's Kustomization Ready False (%s: %s)\n",
		rev.Name, ringHold, next.Cluster.Name, k.reason, oneLine(k.message))
	// Recovery: the fault clears, the cluster is Available again, the operator asks Flux to retry the ring now
	// rather than at the next retry interval; the wave goes on, in order.
	r.s.faults = nil
	if err := rr.until(ctx, rev, first.Cluster.Name+" Available again", ringPhaseTimeout, r.available); err != nil {
		rr.t.Fatalf("rings: %v", err)
	}
	if err := rr.requestReconcile(ctx, first.Kustomization); err != nil {
		rr.t.Fatal(err)
	}
	fmt.Printf("rings: +%.0f s: %s Available again; its Kustomization asked to reconcile (as `flux reconcile kustomization %s` does)\n",
		rr.since(), first.Cluster.Name, first.Kustomization)
	if err := rr.until(ctx, rev, rev.Name+" through every ring after the recovery", time.Duration(len(rr.in.Rings))*ringPhaseTimeout, rr.through(rev, rr.in.Rings)); err != nil {
		rr.t.Errorf("rings: %v", err)
		return
	}
	fmt.Printf("rings: %s: through every ring after the recovery, in ring order\n", rev.Name)
}

// requestReconcile sets the annotation `flux reconcile` sets (fluxcd/pkg/apis/meta ReconcileRequestAnnotation).
func (rr *ringsRun) requestReconcile(ctx context.Context, name string) error {
	k := &unstructured.Unstructured{}
	k.SetGroupVersionKind(kustomizationGVK)
	if err := rr.b.client.Get(ctx, client.ObjectKey{Namespace: rr.in.Source.Namespace, Name: name}, k); err != nil {
		return err
	}
	before := k.DeepCopy()
	ann := k.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann["reconcile.fluxcd.io/requestedAt"] = time.Now().UTC().Format(time.RFC3339Nano)
	k.SetAnnotations(ann)
	return rr.b.client.Patch(ctx, k, client.MergeFrom(before))
}

// ---------------------------------------------------------------------------------------------------------------
// The source stand-in: each revision as a tarball on 127.0.0.1, as source-controller's storage serves artifacts.

type artifact struct {
	file, digest string
	data         []byte
}

type artifactServer struct {
	url       string
	artifacts map[string]artifact
	srv       *http.Server
	done      chan error
}

func startArtifactServer(revs []ringsRevision) (*artifactServer, error) {
	s := &artifactServer{artifacts: map[string]artifact{}, done: make(chan error, 1)}
	mux := http.NewServeMux()
	for _, rev := range revs {
		data, err := tarball(rev.Dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rev.Name, err)
		}
		sum := sha256.Sum256(data)
		a := artifact{file: hex.EncodeToString(sum[:8]) + ".tar.gz", digest: "sha256:" + hex.EncodeToString(sum[:]), data: data}
		s.artifacts[rev.Name] = a
		mux.HandleFunc("/"+a.file, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/gzip")
			_, _ = w.Write(a.data)
		})
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return nil, err
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

func (s *artifactServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if served := <-s.done; !errors.Is(served, http.ErrServerClosed) {
		err = errors.Join(err, served)
	}
	return err
}

// tarball packs a directory as source-controller packs a repository: gzip'd tar, paths relative to the root, in
// lexical order, so the same tree gives the same digest.
func tarball(dir string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname = time.Unix(0, 0), 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ---------------------------------------------------------------------------------------------------------------
// kustomize-controller

// startKustomizeController runs the controller against the box's API server as an admin user of its own, with no
// listener (metrics and health probes off) and the dependency requeue shortened; it returns the stop function.
func startKustomizeController(b *boxManagement, binary, namespace string) (func() error, error) {
	user, err := b.env.AddUser(envtest.User{Name: "kustomize-controller", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rings-kustomize-controller-")
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cfgFile, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.CreateTemp("", "rings-kustomize-controller-*.log")
	if err != nil {
		return nil, err
	}
	fmt.Printf("rings: kustomize-controller's log: %s\n", logFile.Name())
	cmd := exec.Command(binary,
		"--metrics-addr=0", "--health-addr=0", "--enable-leader-election=false", "--watch-all-namespaces=true",
		"--requeue-dependency="+requeueDependency, "--log-encoding=console", "--log-level=debug")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "KUBECONFIG="+cfgFile, "RUNTIME_NAMESPACE="+namespace)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	var stopErr error
	return func() error {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
			stopErr = errors.Join(logFile.Close(), os.RemoveAll(dir))
		})
		return stopErr
	}, nil
}
