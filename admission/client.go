package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// inputClient is what the webhooks that read other objects read: every object of the input (its hub version),
// as a controller-runtime fake client holding them all would answer. The objects are kept as the JSON the webhooks
// are sent; a kind's objects are decoded into a fake client of their own the first time a webhook reads that kind
// (Get or List), so only the kinds the upstream webhooks read are ever held decoded (a fake client of the whole
// input held ≈ 2 KB per object for the whole run). Reads and lists go through the fake client's own code; anything
// else (the webhooks do not write) goes to an empty fake client.
type inputClient struct {
	client.Client
	scheme *kruntime.Scheme
	byKind map[schema.GroupKind][]hubObject

	mu    sync.Mutex
	kinds map[schema.GroupKind]*kindClient
}

// hubObject is one object of the input as the webhooks get it.
type hubObject struct {
	gvk  schema.GroupVersionKind
	json []byte
}

type kindClient struct {
	once sync.Once
	c    client.Client
	err  error
}

func newInputClient(scheme *kruntime.Scheme, objects []hubObject) *inputClient {
	byKind := map[schema.GroupKind][]hubObject{}
	for _, o := range objects {
		byKind[o.gvk.GroupKind()] = append(byKind[o.gvk.GroupKind()], o)
	}
	return &inputClient{
		Client: fake.NewClientBuilder().WithScheme(scheme).Build(),
		scheme: scheme,
		byKind: byKind,
		kinds:  map[schema.GroupKind]*kindClient{},
	}
}

func (c *inputClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	k, err := c.forObject(obj)
	if err != nil {
		return err
	}
	return k.Get(ctx, key, obj, opts...)
}

func (c *inputClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	k, err := c.forObject(list)
	if err != nil {
		return err
	}
	return k.List(ctx, list, opts...)
}

// forObject is the fake client holding the input's objects of obj's kind (for a list, of its items' kind).
func (c *inputClient) forObject(obj kruntime.Object) (client.Client, error) {
	gvk, err := apiutil.GVKForObject(obj, c.scheme)
	if err != nil {
		return nil, err
	}
	gk := gvk.GroupKind()
	if meta.IsListType(obj) {
		gk.Kind = strings.TrimSuffix(gk.Kind, "List")
	}
	c.mu.Lock()
	k := c.kinds[gk]
	if k == nil {
		k = &kindClient{}
		c.kinds[gk] = k
	}
	c.mu.Unlock()
	k.once.Do(func() {
		objs := make([]client.Object, 0, len(c.byKind[gk]))
		for _, o := range c.byKind[gk] {
			typed, err := c.scheme.New(o.gvk)
			if err != nil {
				k.err = err
				return
			}
			if err := json.Unmarshal(o.json, typed); err != nil {
				k.err = fmt.Errorf("%s: %w", o.gvk, err)
				return
			}
			typed.GetObjectKind().SetGroupVersionKind(o.gvk)
			objs = append(objs, typed.(client.Object))
		}
		k.c = fake.NewClientBuilder().WithScheme(c.scheme).WithObjects(objs...).Build()
	})
	return k.c, k.err
}
