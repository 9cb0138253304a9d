package e2e

// The management layer from Git, applied to the in-a-box API server in the order the sync engines
// apply it (generator/src/plan/management.ts MANAGEMENT_LAYERS; Argo CD sync waves, Flux dependsOn): cert-manager,
// then the cluster-api-operator, then the providers, then management/sync (what brings the clusters). Each step must
// be accepted and read back intact (applyAndCheck), its CRDs must become Established, and the order must matter:
// before cert-manager's step the operator's Certificate is refused (its kind does not exist yet).
//
// No controller runs here, so no webhook of cert-manager or of the operator can answer: once a step's objects are
// accepted, its webhook configurations are removed again (they would send the next step's objects to a Service
// with no pod behind it), as the real controllers would be serving them by then.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// managementInput is the part of E2E_INPUT this file reads (generator/src/e2e/management.ts).
type managementInput struct {
	ManagementLayer []step `json:"managementLayer"`
}

func readManagementLayer(t *testing.T) []step {
	t.Helper()
	data, err := os.ReadFile(os.Getenv("E2E_INPUT"))
	if err != nil {
		t.Fatalf("E2E_INPUT: %v", err)
	}
	var mi managementInput
	if err := json.Unmarshal(data, &mi); err != nil {
		t.Fatalf("E2E_INPUT: %v", err)
	}
	return mi.ManagementLayer
}

// freshClient: a client with an empty REST mapping cache, so kinds whose CRDs a previous step installed are found.
func freshClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(env.cfg, client.Options{})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return c
}

func TestManagementLayer(t *testing.T) {
	layers := readManagementLayer(t)
	// management/sync only when the repository has a capi-gitops.yaml (the parity corpus's repositories have none).
	if len(layers) < 3 || len(layers) > 4 {
		t.Fatalf("expected the management layer in 3 or 4 steps (cert-manager, cluster-api-operator, providers[, sync]), got %d", len(layers))
	}
	for i, want := range []string{"cert-manager", "cluster-api-operator", "providers", "sync"}[:len(layers)] {
		if !strings.HasSuffix(layers[i].Name, "/"+want) {
			t.Fatalf("step %d is %q, expected management/%s: the order is the point", i, layers[i].Name, want)
		}
	}
	ctx := context.Background()

	t.Run("order matters: the operator's Certificate is refused before cert-manager", func(t *testing.T) {
		cert := findKind(layers[1], "cert-manager.io", "Certificate")
		if cert == nil {
			t.Fatal("the cluster-api-operator step has no cert-manager Certificate")
		}
		u := &unstructured.Unstructured{Object: deepCopy(cert.Object)}
		err := freshClient(t).Patch(ctx, u, client.Apply, client.FieldOwner(fieldOwner), client.ForceOwnership, client.DryRunAll) //nolint:staticcheck // unstructured
		if err == nil || !meta.IsNoMatchError(err) {
			t.Fatalf("before cert-manager's step a Certificate must be an unknown kind, got %v", err)
		}
	})

	for _, s := range layers {
		ok := t.Run(s.Name, func(t *testing.T) {
			ensureNamespaces(ctx, t, s)
			// As the engines do within a step: Namespaces, then CRDs (and wait for them), then the rest.
			rank := func(o object) int {
				switch kindOf(o) {
				case "Namespace":
					return 0
				case "CustomResourceDefinition":
					return 1
				}
				return 2
			}
			for phase := 0; phase <= 2; phase++ {
				for _, o := range s.Objects {
					if rank(o) != phase {
						continue
					}
					u := &unstructured.Unstructured{Object: o.Object}
					t.Run(fmt.Sprintf("%s %s", u.GetKind(), key(u)), func(t *testing.T) { applyAndCheck(ctx, t, s, o) })
				}
				if phase == 1 {
					waitEstablished(ctx, t, s)
				}
			}
			removeWebhookConfigurations(ctx, t, s)
		})
		if !ok {
			t.Fatalf("%s was not accepted: the later steps depend on it", s.Name)
		}
	}
}

func findKind(s step, group, kind string) *object {
	for i, o := range s.Objects {
		u := &unstructured.Unstructured{Object: o.Object}
		if u.GetKind() == kind && u.GroupVersionKind().Group == group {
			return &s.Objects[i]
		}
	}
	return nil
}

// waitEstablished waits until every CRD of the step is Established (what Argo CD's CRD health and Flux's wait check).
func waitEstablished(ctx context.Context, t *testing.T, s step) {
	t.Helper()
	for _, o := range s.Objects {
		if kindOf(o) != "CustomResourceDefinition" {
			continue
		}
		name := (&unstructured.Unstructured{Object: o.Object}).GetName()
		deadline := time.Now().Add(30 * time.Second)
		for {
			crd := &unstructured.Unstructured{}
			crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
			if err := env.client.Get(ctx, client.ObjectKey{Name: name}, crd); err == nil && established(crd) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: CRD %s is not Established after 30 s", s.Name, name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// removeWebhookConfigurations deletes the webhook configurations the step applied (after they were accepted):
// nothing serves them in this suite.
func removeWebhookConfigurations(ctx context.Context, t *testing.T, s step) {
	t.Helper()
	for _, o := range s.Objects {
		k := kindOf(o)
		if k != "MutatingWebhookConfiguration" && k != "ValidatingWebhookConfiguration" {
			continue
		}
		u := &unstructured.Unstructured{Object: deepCopy(o.Object)}
		if err := env.client.Delete(ctx, u); err != nil {
			t.Errorf("%s: removing %s %s (no controller serves it here): %v", s.Name, k, u.GetName(), err)
		}
	}
}
