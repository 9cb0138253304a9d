package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fluxIdentity is what a Flux Kustomization of the sync layer applies as: kustomize-controller impersonates
// spec.serviceAccountName in the Kustomization's namespace (the API server adds the ServiceAccount's groups).
type fluxIdentity struct {
	serviceAccount, namespace string
	// clusters maps each cluster the identity applies (spec.path ./clusters/<name>) to its targetNamespace.
	clusters map[string]string
}

func (f fluxIdentity) user() string {
	return fmt.Sprintf("system:serviceaccount:%s:%s", f.namespace, f.serviceAccount)
}

// fluxSyncStep finds the rendered Flux management/sync (a step holding Flux Kustomizations with a serviceAccountName).
func fluxSyncStep() (step, fluxIdentity, bool) {
	for _, s := range in.Steps {
		id := fluxIdentity{clusters: map[string]string{}}
		for _, o := range s.Objects {
			u := &unstructured.Unstructured{Object: o.Object}
			if u.GetKind() != "Kustomization" || !strings.HasPrefix(u.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/") {
				continue
			}
			sa, _, _ := unstructured.NestedString(u.Object, "spec", "serviceAccountName")
			path, _, _ := unstructured.NestedString(u.Object, "spec", "path")
			target, _, _ := unstructured.NestedString(u.Object, "spec", "targetNamespace")
			if sa == "" || !strings.HasPrefix(path, "./clusters/") {
				continue
			}
			id.serviceAccount, id.namespace = sa, u.GetNamespace()
			id.clusters[strings.TrimPrefix(path, "./clusters/")] = target
		}
		if id.serviceAccount != "" {
			return s, id, true
		}
	}
	return step{}, fluxIdentity{}, false
}

// TestFluxIdentityRBAC: with RBAC on (envtest's default authorization mode, checked below), the identity the
// generated Flux sync layer gives the clusters' Kustomizations may apply each cluster's render in the cluster's own
// namespace and nothing more: the API server refuses, under that identity, a Deployment planted in kube-system, a
// RoleBinding to cluster-admin, a Role reading Secrets, reading the cluster's kubeconfig Secret, creating or
// deleting a namespace, and cluster-wide RBAC. The same requests as the suite's admin are accepted (dry run), so
// the refusals are the identity's, not the requests'.
func TestFluxIdentityRBAC(t *testing.T) {
	ctx := context.Background()
	sync, id, ok := fluxSyncStep()
	if !ok {
		// `npm run e2e` always renders its fixtures for Flux too; the narrower runs of the test suite (a planted
		// fault, the parity corpus, the shape matrix) hand over no sync layer.
		t.Skip("no Flux management/sync with a serviceAccountName among the steps")
	}
	if len(id.clusters) == 0 {
		t.Fatal("the Flux sync layer syncs no cluster")
	}
	// The sync layer itself is applied by Flux's own identity (here the suite's admin): its ServiceAccount, roles,
	// bindings, and each cluster's Namespace with its RoleBinding.
	ensureNamespaces(ctx, t, sync)
	for _, o := range sync.Objects {
		u := &unstructured.Unstructured{Object: deepCopy(o.Object)}
		if err := env.client.Patch(ctx, u, client.Apply, client.FieldOwner("capi-gitops-e2e-rbac"), client.ForceOwnership); err != nil { //nolint:staticcheck // unstructured apply
			t.Fatalf("applying the Flux sync layer's %s %s as admin: %v", u.GetKind(), key(u), err)
		}
	}

	cfg := rest.CopyConfig(env.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: id.user()}
	flux, err := client.New(cfg, client.Options{Scheme: env.client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	// RBAC is on: the impersonated identity cannot list Secrets cluster-wide (under AlwaysAllow it could).
	if err := flux.List(ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing Secrets as %s: expected Forbidden (RBAC on), got %v", id.user(), err)
	}

	for cluster, ns := range id.clusters {
		t.Run(cluster, func(t *testing.T) {
			if ns == "" {
				t.Errorf("the Kustomization of %s has no targetNamespace: an object of another namespace would be applied there", cluster)
				ns = clusterNamespace(cluster)
			}
			// Allowed: every object of the cluster's render, applied as kustomize-controller does (server-side
			// apply; dry run, so the suite's own objects stay as TestApply left them).
			applied := 0
			for _, s := range in.Steps {
				if s.Cluster != cluster || !strings.HasSuffix(s.Name, " create") {
					continue
				}
				for _, o := range s.Objects {
					u := &unstructured.Unstructured{Object: deepCopy(o.Object)}
					if u.GetNamespace() != "" && u.GetNamespace() != ns {
						t.Errorf("%s: %s %s is outside the cluster's namespace %s", where(s, o), u.GetKind(), key(u), ns)
						continue
					}
					if err := flux.Patch(ctx, u, client.Apply, client.FieldOwner("kustomize-controller"), client.ForceOwnership, client.DryRunAll); err != nil { //nolint:staticcheck // unstructured apply
						t.Errorf("%s: Flux (%s) could not apply it: %v", where(s, o), id.user(), err)
					}
					applied++
				}
			}
			if applied == 0 {
				t.Fatalf("no create step renders cluster %s", cluster)
			}

			kubeconfig := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: cluster + "-kubeconfig", Namespace: ns}, StringData: map[string]string{"value": "e2e"}}
			if err := env.client.Create(ctx, kubeconfig); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			labels := map[string]string{"app": "planted"}
			planted := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "planted", Namespace: "kube-system"},
				Spec: appsv1.DeploymentSpec{
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "example.com/x:1"}}},
					},
				},
			}
			adminBinding := &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "planted-admin", Namespace: ns},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "mallory"}},
			}
			secretsRole := &rbacv1.Role{
				ObjectMeta: metav1.ObjectMeta{Name: "planted-secrets", Namespace: ns},
				Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}},
			}
			clusterBinding := &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "planted-" + cluster},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "mallory"}},
			}
			newNamespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "planted-" + cluster}}
			refused := []struct {
				what string
				do   func(c client.Client, dry bool) error
			}{
				{"a Deployment in kube-system", func(c client.Client, dry bool) error { return c.Create(ctx, planted.DeepCopy(), dryRun(dry)...) }},
				{"a RoleBinding to cluster-admin in " + ns, func(c client.Client, dry bool) error { return c.Create(ctx, adminBinding.DeepCopy(), dryRun(dry)...) }},
				{"a Role reading Secrets in " + ns, func(c client.Client, dry bool) error { return c.Create(ctx, secretsRole.DeepCopy(), dryRun(dry)...) }},
				{"a ClusterRoleBinding", func(c client.Client, dry bool) error { return c.Create(ctx, clusterBinding.DeepCopy(), dryRun(dry)...) }},
				{"a new namespace", func(c client.Client, dry bool) error { return c.Create(ctx, newNamespace.DeepCopy(), dryRun(dry)...) }},
				{"deleting the namespace " + ns, func(c client.Client, _ bool) error {
					return c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, client.DryRunAll)
				}},
				{"reading the Secret " + kubeconfig.Name, func(c client.Client, _ bool) error {
					return c.Get(ctx, client.ObjectKeyFromObject(kubeconfig), &corev1.Secret{})
				}},
			}
			for _, r := range refused {
				if err := r.do(flux, false); !apierrors.IsForbidden(err) {
					t.Errorf("%s as %s: expected the API server to refuse it (Forbidden), got %v", r.what, id.user(), err)
				}
				if err := r.do(env.client, true); err != nil {
					t.Errorf("%s as the suite's admin (dry run): expected it accepted, got %v", r.what, err)
				}
			}
		})
	}
}

// clusterNamespace is the namespace the cluster's render creates (its Namespace object).
func clusterNamespace(cluster string) string {
	for _, s := range in.Steps {
		if s.Cluster != cluster || !strings.HasSuffix(s.Name, " create") {
			continue
		}
		for _, o := range s.Objects {
			if kindOf(o) == "Namespace" {
				return (&unstructured.Unstructured{Object: o.Object}).GetName()
			}
		}
	}
	return cluster
}

func dryRun(dry bool) []client.CreateOption {
	if dry {
		return []client.CreateOption{client.DryRunAll}
	}
	return nil
}
