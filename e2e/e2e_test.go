// Package e2e applies rendered capi-gitops repositories to a real kube-apiserver (envtest: etcd and kube-apiserver
// built from the pinned Go modules by `npm run e2e`) with the pinned CRDs installed and the upstream CAPI and CAPA
// webhooks served from this test process. What to apply comes from `npm run e2e` (generator/src/commands/e2e.ts)
// as a JSON file named by E2E_INPUT: steps of objects, each with the verdict the capi-gitops tool expects.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/capi-gitops/admission/upstream"
)

// input is what `npm run e2e` hands over (E2E_INPUT).
type input struct {
	// Assets is the folder holding the etcd and kube-apiserver binaries (envtest's BinaryAssetsDirectory).
	Assets string `json:"assets"`
	// CRDDirs are the pinned CRD folders (.tools/crds/*).
	CRDDirs []string `json:"crdDirs"`
	// FeatureGates as management/providers sets them for the providers, e.g. "MachinePool=true".
	FeatureGates string `json:"featureGates"`
	Steps        []step `json:"steps"`
	// Box: the clusters the real CAPI controllers reconcile (box_test.go).
	Box *boxInput `json:"box,omitempty"`
	// Rings: the three-ring repository the real kustomize-controller syncs into the box (rings_test.go).
	Rings *ringsInput `json:"rings,omitempty"`
}

// step is one render of one cluster (or of management/) applied with server-side apply, in order.
type step struct {
	Name    string   `json:"name"`
	Cluster string   `json:"cluster"`
	Objects []object `json:"objects"`
}

type object struct {
	Object map[string]any `json:"object"`
	// File is the repository file the object was rendered from.
	File string `json:"file"`
	// Expect is "allow" or "deny": the capi-gitops tool's verdict on this object.
	Expect string `json:"expect"`
	// Because is, for "deny", a piece of the message the server must give.
	Because string `json:"because,omitempty"`
	// Defaults are fields (dotted paths) the render leaves out that the server must fill in, with their values.
	Defaults map[string]any `json:"defaults,omitempty"`
	// PatchedBy are the cluster's own kustomization files whose patches touched the object.
	PatchedBy []string `json:"patchedBy,omitempty"`
}

const fieldOwner = "capi-gitops-e2e"

var (
	in  input
	env *management
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	path := os.Getenv("E2E_INPUT")
	if path == "" {
		fmt.Fprintln(os.Stderr, "E2E_INPUT is not set: run the suite through `npm run e2e`")
		return 2
	}
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &in)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "E2E_INPUT %s: %v\n", path, err)
		return 2
	}
	scheme, err := upstream.NewScheme()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	started := time.Now()
	env, err = startManagement(&in, scheme)
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the management cluster: %v\n", err)
		return 2
	}
	fmt.Printf("e2e: kube-apiserver, etcd and the upstream webhooks up on %s in %.1f s\n", strings.Join(env.ports, ", "), time.Since(started).Seconds())
	code := m.Run()
	if err := env.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "teardown: %v\n", err)
		return 1
	}
	fmt.Println("e2e: teardown left no process and no port behind")
	return code
}

// TestLoopbackOnly: etcd and kube-apiserver listen on 127.0.0.1 only (teardown later asserts them gone).
func TestLoopbackOnly(t *testing.T) {
	if err := env.checkLoopbackOnly(); err != nil {
		t.Fatal(err)
	}
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	for _, s := range in.Steps {
		t.Run(s.Name, func(t *testing.T) {
			ensureNamespaces(ctx, t, s)
			// Namespaces first (the sync engines create them before anything in them), then the render's order.
			objs := append([]object{}, s.Objects...)
			sort.SliceStable(objs, func(i, j int) bool { return kindOf(objs[i]) == "Namespace" && kindOf(objs[j]) != "Namespace" })
			for _, o := range objs {
				u := &unstructured.Unstructured{Object: o.Object}
				t.Run(fmt.Sprintf("%s %s", u.GetKind(), key(u)), func(t *testing.T) {
					applyAndCheck(ctx, t, s, o)
				})
			}
		})
	}
}

func kindOf(o object) string { k, _ := o.Object["kind"].(string); return k }

func key(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetName()
	}
	return u.GetNamespace() + "/" + u.GetName()
}

// where names what a failure is about: the cluster, the object and the file it came from.
func where(s step, o object) string {
	u := &unstructured.Unstructured{Object: o.Object}
	w := fmt.Sprintf("cluster %s: %s %s", s.Cluster, u.GetKind(), key(u))
	var from []string
	if o.File != "" {
		from = append(from, o.File)
	}
	if len(o.PatchedBy) > 0 {
		from = append(from, "patched by "+strings.Join(o.PatchedBy, ", "))
	}
	if len(from) > 0 {
		w += " (" + strings.Join(from, "; ") + ")"
	}
	return w
}

// ensureNamespaces creates the namespaces the step's objects live in that the render does not itself contain.
func ensureNamespaces(ctx context.Context, t *testing.T, s step) {
	own := map[string]bool{}
	for _, o := range s.Objects {
		if kindOf(o) == "Namespace" {
			own[(&unstructured.Unstructured{Object: o.Object}).GetName()] = true
		}
	}
	for _, o := range s.Objects {
		ns := (&unstructured.Unstructured{Object: o.Object}).GetNamespace()
		if ns == "" || own[ns] {
			continue
		}
		err := env.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("cluster %s: creating namespace %s: %v", s.Cluster, ns, err)
		}
		own[ns] = true
	}
}

// applyAndCheck server-side applies one object (for real, not a dry run) and compares the verdict with the tool's;
// an applied object is read back: every rendered field must be there unchanged (nothing pruned as unknown), and
// the expected defaults must have been filled in.
func applyAndCheck(ctx context.Context, t *testing.T, s step, o object) {
	u := &unstructured.Unstructured{Object: deepCopy(o.Object)}
	err := env.client.Patch(ctx, u, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership) //nolint:staticcheck // unstructured objects: the typed ApplyConfigurations do not apply
	switch {
	case o.Expect == "deny" && err == nil:
		t.Fatalf("%s: the API server accepted it, but capi-gitops rejects it (%s)", where(s, o), o.Because)
	case o.Expect == "deny":
		if !strings.Contains(err.Error(), o.Because) {
			t.Fatalf("%s: denied as capi-gitops expects, but with another message: %v (capi-gitops: %s)", where(s, o), err, o.Because)
		}
		return
	case err != nil:
		t.Fatalf("%s: the API server rejected it: %v", where(s, o), err)
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(schema.FromAPIVersionAndKind(u.GetAPIVersion(), u.GetKind()))
	if err := env.client.Get(ctx, client.ObjectKey{Namespace: u.GetNamespace(), Name: u.GetName()}, live); err != nil {
		t.Fatalf("%s: reading it back: %v", where(s, o), err)
	}
	var diffs []string
	compare(o.Object, live.Object, "", &diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: read back differs from the render (pruned or changed by the server):\n  %s", where(s, o), strings.Join(diffs, "\n  "))
	}
	for path, want := range o.Defaults {
		got, found, _ := unstructured.NestedFieldNoCopy(live.Object, strings.Split(path, ".")...)
		if !found {
			t.Errorf("%s: the server did not default %s (expected %v)", where(s, o), path, want)
		} else if !sameJSON(got, want) {
			t.Errorf("%s: %s defaulted to %v, expected %v", where(s, o), path, got, want)
		}
	}
}

// compare reports every field of want (the render) that is missing from or different in got (the live object).
func compare(want, got any, path string, diffs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: rendered an object, read back %s", orRoot(path), short(got)))
			return
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s: missing (rendered %s)", path+"."+k, short(v)))
				continue
			}
			compare(v, gv, path+"."+k, diffs)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: rendered %s, read back %s", orRoot(path), short(want), short(got)))
			return
		}
		for i := range w {
			compare(w[i], g[i], fmt.Sprintf("%s[%d]", path, i), diffs)
		}
	default:
		if !sameJSON(want, got) {
			*diffs = append(*diffs, fmt.Sprintf("%s: rendered %s, read back %s", orRoot(path), short(want), short(got)))
		}
	}
}

func orRoot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// sameJSON compares scalars as JSON does (the render's 3 and the server's int64 3 are the same number).
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var x, y any
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
