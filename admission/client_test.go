package main

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The input client answers Get and List as a fake client holding the whole input, and decodes only the kinds read.
func TestInputClientDecodesOnlyTheKindsRead(t *testing.T) {
	a := testAdmitter(t)
	cluster := func(ns, name string) hubObject {
		return hubObject{gvk: clusterv1.GroupVersion.WithKind("Cluster"), json: []byte(`{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"Cluster","metadata":{"namespace":"` + ns + `","name":"` + name + `","labels":{"tier":"` + name + `"}}}`)}
	}
	md := hubObject{gvk: clusterv1.GroupVersion.WithKind("MachineDeployment"), json: []byte(`{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"MachineDeployment","metadata":{"namespace":"a","name":"md"}}`)}
	c := newInputClient(a.scheme, []hubObject{cluster("a", "one"), md, cluster("a", "two"), cluster("b", "three")})
	ctx := context.Background()

	var got clusterv1.Cluster
	if err := c.Get(ctx, client.ObjectKey{Namespace: "a", Name: "two"}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Labels["tier"] != "two" {
		t.Errorf("Get a/two: %+v", got.ObjectMeta)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "b", Name: "one"}, &got); !apierrors.IsNotFound(err) {
		t.Errorf("Get b/one: want NotFound, got %v", err)
	}
	var list clusterv1.ClusterList
	if err := c.List(ctx, &list, client.InNamespace("a"), client.MatchingLabels{"tier": "one"}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "one" {
		t.Errorf("List in a, tier=one: %d items", len(list.Items))
	}
	if len(c.kinds) != 1 || c.kinds[schema.GroupKind{Group: clusterv1.GroupVersion.Group, Kind: "Cluster"}] == nil {
		t.Errorf("decoded kinds: %v, want only Cluster", c.kinds)
	}
}

// admit takes its documents: their JSON is cleared from the caller's slice, so each document's memory can go once its
// object went through the object stages (the program's memory then follows the hub JSON, not the input).
func TestAdmitTakesTheDocuments(t *testing.T) {
	a := testAdmitter(t)
	docs, err := splitDocuments([]byte(fixture(t)), "input")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.admit(docs, nil); err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		if d.json != nil {
			t.Errorf("document %d still holds its JSON after admit", i)
		}
	}
}
