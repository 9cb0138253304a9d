package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/common"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/conversion"
	kjson "sigs.k8s.io/json"
)

type message struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Result is one output line.
type Result struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Namespace  string    `json:"namespace"`
	Name       string    `json:"name"`
	Cluster    string    `json:"cluster"`
	File       string    `json:"file"`
	Operation  string    `json:"operation"`
	Allowed    bool      `json:"allowed"`
	Stage      string    `json:"stage"`
	Messages   []message `json:"messages"`
	Warnings   []string  `json:"warnings,omitempty"`

	// webhooks called (mutating, validating): every CAPI/CAPA kind the project generates has a validating one
	mutated, validated bool
}

const (
	stageDecode     = "decode"
	stageSchema     = "schema"
	stageCEL        = "cel"
	stageConversion = "conversion"
	stageWebhook    = "webhook"
	stageSkipped    = "skipped"
)

type options struct {
	clusterAnnotation string
	fileAnnotation    string
	workers           int
	// disabled stages (--disable-stages): to show what each stage catches; never for real checks
	disabled map[string]bool
}

// item is one input object going through the stages.
type item struct {
	doc document
	gvk schema.GroupVersionKind
	in  *unstructured.Unstructured // as decoded, with its identity (namespace, UPDATE's resource version)
	u   *unstructured.Unstructured // in, pruned and defaulted by the schema stage; in the request version
	crd *crdInfo
	ver *crdVersion
	// converted to the storage (hub) version, as JSON: what the webhooks are sent and the input client holds (the
	// decoded forms are released once the object stages ran: memory per object is this and the result)
	hubJSON []byte
	hubGVK  schema.GroupVersionKind
	key     key // group, kind, namespace and name as the object stages left them
	res     *Result
	done    bool // a stage denied it, or it is skipped
	old     *item
	// ratchet: on UPDATE, the object correlated with the stored one, for the schema and CEL stages' ratcheting
	ratchet *common.CorrelatedObject
	// stored: an object of the previous render (--old), prepared as the API server would have stored it
	stored bool
}

type admitter struct {
	scheme *kruntime.Scheme
	crds   crdSet
	opts   options
}

var quoted = regexp.MustCompile(`"([^"]*)"`)

func strictMessages(errs []error) []message {
	var msgs []message
	for _, e := range errs {
		s := e.Error()
		f := ""
		if m := quoted.FindStringSubmatch(s); m != nil {
			f = m[1]
		}
		msgs = append(msgs, message{Field: f, Message: s})
	}
	return msgs
}

func fieldMessages(errs field.ErrorList) []message {
	var msgs []message
	for _, e := range errs {
		msgs = append(msgs, message{Field: e.Field, Message: e.ErrorBody()})
	}
	return msgs
}

func (it *item) deny(stage string, msgs []message) {
	it.res.Allowed = false
	it.res.Stage = stage
	it.res.Messages = append(it.res.Messages, msgs...)
	it.done = true
}

// stage is one step of the admission of an object. run records a denial (it.deny) or ends the object early
// (it.done: checked as far as this program can); either way the stages after it do not run. An error is a tool
// error. off: --disable-stages names the stage; each stage says what that switches off.
type stage struct {
	name string
	run  func(b *batch, it *item, off bool) error
}

// The stages, in the order they run on an object (see README, "Known differences", for how a real API server orders
// them). objectStages judge each object on its own; webhookStages run once every object of the input went through
// objectStages, because webhooks that read other objects find them in a fake client holding the whole input.
var (
	objectStages = []stage{
		{name: stageDecode, run: (*batch).decode},
		{name: stageSchema, run: (*batch).schema},
		{name: stageCEL, run: (*batch).cel},
		{name: stageConversion, run: (*batch).conversion},
	}
	webhookStages = []stage{
		{name: stageWebhook, run: (*batch).webhook},
	}
)

// isStage says whether name is one of the stages (for --disable-stages).
func isStage(name string) bool {
	for _, list := range [][]stage{objectStages, webhookStages} {
		for _, s := range list {
			if s.name == name {
				return true
			}
		}
	}
	return false
}

// runStages runs stages on it, in order, until one denies it or ends it.
func (b *batch) runStages(it *item, stages []stage) error {
	for _, s := range stages {
		if it.done {
			return nil
		}
		if err := s.run(b, it, b.opts.disabled[s.name]); err != nil {
			return err
		}
	}
	return nil
}

// batch is one call of admit: the admitter, and the webhook server once the whole input went through objectStages.
type batch struct {
	*admitter
	mux *http.ServeMux
}

// prepare identifies one object (result line, CRD, UPDATE identity), then runs objectStages on it: decode, schema
// (defaulting + OpenAPI validation), CEL and conversion. Objects of the previous render (it.stored) go the same way.
// olds are the stored objects by identity (namespaced kinds without a namespace are in "default"): the object with
// the same group, kind, namespace and name is admitted as its UPDATE; without one, as CREATE.
func (b *batch) prepare(it *item, olds map[key]*item) error {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(it.doc.json); err != nil {
		it.res = &Result{Operation: "CREATE", Stage: stageDecode, File: it.doc.source}
		it.deny(stageDecode, []message{{Message: err.Error()}})
		return nil
	}
	it.gvk = u.GroupVersionKind()
	ann := u.GetAnnotations()
	file := ann[b.opts.fileAnnotation]
	if file == "" {
		file = originPath(ann["config.kubernetes.io/origin"])
	}
	if file == "" && it.doc.source != "-" {
		file = it.doc.source
	}
	it.res = &Result{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(),
		Cluster: ann[b.opts.clusterAnnotation], File: file, Operation: "CREATE", Allowed: true, Messages: []message{}}
	crd, err := b.crds.get(it.gvk.GroupKind())
	if err != nil {
		return err
	}
	if crd == nil || !strings.HasSuffix(it.gvk.Group, "cluster.x-k8s.io") {
		if strings.HasSuffix(it.gvk.Group, "cluster.x-k8s.io") && b.knowsKind(it.gvk.GroupKind()) {
			return fmt.Errorf("no CRD loaded for %s (give --crds)", it.gvk.GroupKind())
		}
		it.res.Stage = stageSkipped
		it.done = true
		return nil
	}
	it.crd = crd
	if crd.namespaced && u.GetNamespace() == "" {
		u.SetNamespace("default")
		it.res.Namespace = "default"
	}
	old := olds[keyOf(u)]
	if it.stored {
		// As the API server stores it: a resource version and a UID.
		u.SetResourceVersion("1")
		u.SetUID(types.UID("capi-gitops-admission-" + u.GetNamespace() + "-" + u.GetName()))
	}
	if old != nil {
		it.res.Operation = "UPDATE"
		it.old = old
		// CRDs allow unconditional updates: the API server takes the stored object's resource version and identity.
		if old.u != nil {
			u.SetResourceVersion(old.u.GetResourceVersion())
			u.SetUID(old.u.GetUID())
			u.SetCreationTimestamp(old.u.GetCreationTimestamp())
		}
	}
	it.in = u
	return b.runStages(it, objectStages)
}

// decode: the version must be served; strict decoding into the upstream Go type (unknown and duplicate fields), plus
// the fields the CRD schema would prune. Off: only the version is checked.
func (b *batch) decode(it *item, off bool) error {
	ver := it.crd.versions[it.gvk.Version]
	if ver == nil || !ver.served {
		it.deny(stageDecode, []message{{Field: "apiVersion", Message: fmt.Sprintf("no matches for kind %q in version %q", it.gvk.Kind, it.gvk.GroupVersion())}})
		return nil
	}
	it.ver = ver
	if off {
		return nil
	}
	var msgs []message
	for _, d := range it.doc.duplicates {
		msgs = append(msgs, message{Field: d, Message: fmt.Sprintf("duplicate field %q", d)})
	}
	if b.scheme.Recognizes(it.gvk) {
		typed, _ := b.scheme.New(it.gvk)
		strictErrs, err := kjson.UnmarshalStrict(it.doc.json, typed, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
		if err != nil {
			msgs = append(msgs, message{Message: err.Error()})
		}
		msgs = append(msgs, strictMessages(strictErrs)...)
	}
	if ver.structural != nil {
		cp := kruntime.DeepCopyJSON(it.in.Object)
		unknown := pruning.PruneWithOptions(cp, ver.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
		for _, p := range unknown {
			msgs = appendUnique(msgs, message{Field: p, Message: fmt.Sprintf("unknown field %q", p)})
		}
	}
	if len(msgs) > 0 {
		it.deny(stageDecode, msgs)
	}
	return nil
}

// schema: structural defaulting, then metadata and OpenAPI schema validation (ratcheting on UPDATE). Off: no
// defaults and no denial (unknown fields and nulls are still pruned, as the API server's decoder does).
func (b *batch) schema(it *item, off bool) error {
	u, ver := it.in, it.ver
	oldU := it.oldSameVersion()
	if ver.structural != nil {
		// Without strict decoding, unknown fields are dropped as the API server prunes them; like the API server's
		// decoder (apiextensions-apiserver pkg/apiserver/customresource_handler.go, schemaCoercingConverter), nulls of
		// non-nullable fields without a default are dropped too (e.g. `matchLabels:` left empty in a template).
		pruning.PruneWithOptions(u.Object, ver.structural, true, structuralschema.UnknownFieldPathOptions{})
		structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, ver.structural)
	}
	if !off && ver.structural != nil {
		structuraldefaulting.Default(u.Object, ver.structural)
	}
	it.u = u
	var errs field.ErrorList
	if oldU == nil {
		errs = append(errs, validation.ValidateObjectMetaAccessor(u, it.crd.namespaced, validation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
		if ver.validator != nil {
			errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u.Object, ver.validator)...)
		}
	} else {
		errs = append(errs, validation.ValidateObjectMetaAccessorUpdate(u, oldU, field.NewPath("metadata"))...)
		if ver.validator != nil {
			// Shared with the CEL stage: its transition rules ratchet on the same correlation.
			it.ratchet = common.NewCorrelatedObject(u.Object, oldU.Object, &model.Structural{Structural: ver.structural})
			errs = append(errs, apiservervalidation.ValidateCustomResourceUpdate(nil, u.Object, oldU.Object, ver.validator, apiservervalidation.WithRatcheting(it.ratchet))...)
		}
	}
	if len(errs) > 0 && !off {
		it.deny(stageSchema, fieldMessages(errs))
	}
	return nil
}

// cel: the CRD's x-kubernetes-validations, with transition rules on UPDATE. Off: not evaluated.
func (b *batch) cel(it *item, off bool) error {
	if it.ver.cel == nil || off {
		return nil
	}
	var oldObj interface{}
	if oldU := it.oldSameVersion(); oldU != nil {
		oldObj = oldU.Object
	}
	var opts []cel.Option
	if it.ratchet != nil {
		opts = append(opts, cel.WithRatcheting(it.ratchet))
	}
	celErrs, _ := it.ver.cel.Validate(context.Background(), nil, it.ver.structural, it.u.Object, oldObj, celconfig.RuntimeCELCostBudget, opts...)
	if len(celErrs) > 0 {
		it.deny(stageCEL, fieldMessages(celErrs))
	}
	return nil
}

// conversion to the hub (storage) version with the upstream conversion functions. Off: the object keeps its
// version (into its Go type all the same). A CAPI/CAPA kind whose Go types (and webhooks) this program does not
// include (CAPA EKS, ROSA control planes) ends here, checked by the CRD stages only.
func (b *batch) conversion(it *item, off bool) error {
	if !b.scheme.Recognizes(it.gvk) {
		it.res.Stage = stageCEL
		it.res.Warnings = append(it.res.Warnings, "capi-gitops-admission: no upstream Go type or webhook for "+it.gvk.String()+" in this program; checked against the CRD (schema, CEL) only")
		it.done = true
		return nil
	}
	hub, err := b.toHub(it.u, it.crd, off)
	if err != nil {
		it.deny(stageConversion, []message{{Message: err.Error()}})
		return nil
	}
	raw, err := json.Marshal(hub)
	if err != nil {
		return err
	}
	it.hubJSON, it.hubGVK, it.key = raw, hub.GetObjectKind().GroupVersionKind(), keyOf(it.u)
	return nil
}

// release drops what only the object stages need (the input document, its decoded and defaulted forms): an object
// waiting for its webhooks keeps its hub JSON and result. Objects of the previous render keep theirs, which the new
// objects' stages compare with.
func (it *item) release() {
	if it.stored {
		return
	}
	it.doc.json, it.in, it.u, it.ratchet = nil, nil, nil, nil
}

// webhook: the mutating, then the validating webhook of the object's hub version. Off: not called.
func (b *batch) webhook(it *item, off bool) error {
	if off {
		return nil
	}
	return b.webhooks(b.mux, it)
}

// oldSameVersion is the stored object of an UPDATE when the previous render used the same API version: the schema
// and CEL stages then validate the update (ratcheting, transition rules); otherwise they check it as on CREATE.
func (it *item) oldSameVersion() *unstructured.Unstructured {
	if it.old != nil && it.old.u != nil && it.old.gvk.Version == it.gvk.Version {
		return it.old.u
	}
	return nil
}

func appendUnique(msgs []message, m message) []message {
	for _, x := range msgs {
		if x.Field == m.Field {
			return msgs
		}
	}
	return append(msgs, m)
}

func (a *admitter) knowsKind(gk schema.GroupKind) bool {
	for gvk := range a.scheme.AllKnownTypes() {
		if gvk.GroupKind() == gk {
			return true
		}
	}
	return false
}

func (a *admitter) toHub(u *unstructured.Unstructured, crd *crdInfo, noConversion bool) (client.Object, error) {
	gvk := u.GroupVersionKind()
	hubGVK := gvk
	hubGVK.Version = crd.storage
	if noConversion {
		hubGVK = gvk
	}
	if !a.scheme.Recognizes(gvk) || !a.scheme.Recognizes(hubGVK) {
		return nil, fmt.Errorf("no Go type for %s or %s", gvk, hubGVK)
	}
	typed, _ := a.scheme.New(gvk)
	if err := kruntime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed); err != nil {
		return nil, err
	}
	if gvk.Version == hubGVK.Version {
		typed.GetObjectKind().SetGroupVersionKind(gvk)
		return typed.(client.Object), nil
	}
	src, ok := typed.(conversion.Convertible)
	if !ok {
		return nil, fmt.Errorf("%s has no conversion to %s", gvk, hubGVK.Version)
	}
	h, _ := a.scheme.New(hubGVK)
	hub, ok := h.(conversion.Hub)
	if !ok {
		return nil, fmt.Errorf("%s is not a conversion hub", hubGVK)
	}
	if err := src.ConvertTo(hub); err != nil {
		return nil, err
	}
	hub.GetObjectKind().SetGroupVersionKind(hubGVK)
	return hub.(client.Object), nil
}

// originPath reads the path of kustomize's config.kubernetes.io/origin annotation.
func originPath(origin string) string {
	for _, line := range strings.Split(origin, "\n") {
		if strings.HasPrefix(line, "path:") {
			return strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "path:")), `"'`)
		}
	}
	return ""
}

func parallel(n, workers int, f func(i int), panicked func(i int, r any)) {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				func() {
					// Upstream code that panics on an odd object: a tool error naming the object, not a crash.
					defer func() {
						if r := recover(); r != nil {
							panicked(i, r)
						}
					}()
					f(i)
				}()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

type key struct {
	gk        schema.GroupKind
	namespace string
	name      string
}

func keyOf(u *unstructured.Unstructured) key {
	return key{gk: u.GroupVersionKind().GroupKind(), namespace: u.GetNamespace(), name: u.GetName()}
}

// admit runs every stage on docs (with the matching objects of oldDocs as UPDATE) and returns one result per doc.
// It takes the documents: their JSON is cleared from docs, so that each one's memory goes once its object is
// through the object stages (a caller admitting the same documents again passes a copy of the slice).
func (a *admitter) admit(docs, oldDocs []document) ([]*Result, error) {
	b := &batch{admitter: a}
	var firstErr error
	var mu sync.Mutex
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	// each runs f on every item in parallel; a panic of the upstream code is a tool error naming the object.
	each := func(items []*item, f func(it *item) error) {
		parallel(len(items), a.opts.workers, func(i int) {
			if err := f(items[i]); err != nil {
				setErr(err)
			}
		}, func(i int, r any) {
			setErr(fmt.Errorf("%s: panic in the upstream code: %v", describe(items[i]), r))
		})
	}

	// The previous render: through objectStages, then mutated as when it was created (store). An old object
	// that a stage denies is not used: its new version is admitted as CREATE.
	olds := make([]*item, len(oldDocs))
	for i := range oldDocs {
		olds[i] = &item{doc: oldDocs[i], stored: true}
	}
	each(olds, func(o *item) error { return b.prepare(o, nil) })
	oldByKey := map[key]*item{}
	for _, o := range olds {
		if o.u != nil && o.hubJSON != nil {
			oldByKey[keyOf(o.u)] = o
		}
	}

	items := make([]*item, len(docs))
	for i := range docs {
		items[i] = &item{doc: docs[i]}
		docs[i].json = nil // the item holds it now, and lets go of it after its object stages
	}
	each(items, func(it *item) error {
		err := b.prepare(it, oldByKey)
		it.release()
		return err
	})
	if firstErr != nil {
		return nil, firstErr
	}

	// The client the webhooks read other objects from holds every object of the input (hub versions).
	// An object given twice (same kind, namespace, name) is held once: the first one.
	var objs []hubObject
	held := map[key]bool{}
	for _, it := range items {
		if it.hubJSON != nil {
			if held[it.key] {
				continue
			}
			held[it.key] = true
			objs = append(objs, hubObject{gvk: it.hubGVK, json: it.hubJSON})
		}
	}
	c := newInputClient(a.scheme, objs)
	mux, err := newWebhookServer(a.scheme, c)
	if err != nil {
		return nil, err
	}
	b.mux = mux

	each(olds, b.store)
	each(items, func(it *item) error {
		if it.done {
			return nil
		}
		err := b.runStages(it, webhookStages)
		if !it.done {
			// Every stage passed: the result names the last one.
			it.res.Stage = webhookStages[len(webhookStages)-1].name
		}
		return err
	})
	if firstErr != nil {
		return nil, firstErr
	}
	out := make([]*Result, len(items))
	for i, it := range items {
		out[i] = it.res
	}
	return out, nil
}

// store passes an object of the previous render through the mutating webhook of a CREATE, as the API server stored
// it; its document becomes that stored form (the oldObject of the UPDATE).
func (b *batch) store(o *item) error {
	if o.hubJSON == nil {
		return nil
	}
	rr, err := callWebhook(b.mux, webhookPath("mutate", o.hubGVK), review{
		gvk: o.hubGVK, requestGVK: o.gvk, plural: o.crd.plural,
		namespace: o.key.namespace, name: o.key.name, operation: admissionv1.Create, object: o.hubJSON})
	if err != nil {
		return err
	}
	o.doc.json = rr.patched
	return nil
}

// webhooks calls the mutating then the validating webhook of the object's hub version.
func (a *admitter) webhooks(mux *http.ServeMux, it *item) error {
	gvk := it.hubGVK
	r := review{gvk: gvk, requestGVK: it.gvk, plural: it.crd.plural, namespace: it.key.namespace,
		name: it.key.name, operation: admissionv1.Create, object: it.hubJSON}
	if it.old != nil {
		r.operation = admissionv1.Update
		r.oldObject = it.old.doc.json
	}
	mut, err := callWebhook(mux, webhookPath("mutate", gvk), r)
	if err != nil {
		return err
	}
	it.res.mutated = mut.found
	it.res.Warnings = append(it.res.Warnings, mut.warnings...)
	if !mut.allowed {
		it.deny(stageWebhook, mut.messages)
		return nil
	}
	r.object = mut.patched
	val, err := callWebhook(mux, webhookPath("validate", gvk), r)
	if err != nil {
		return err
	}
	it.res.validated = val.found
	it.res.Warnings = append(it.res.Warnings, val.warnings...)
	if !val.allowed {
		it.deny(stageWebhook, val.messages)
	}
	return nil
}

// describe names an input object for a tool error: from its result line once it has one (its document may have
// been released), else from the document.
func describe(it *item) string {
	d := it.doc
	if r := it.res; r != nil && r.Kind != "" {
		return fmt.Sprintf("%s: %s %s/%s", d.source, r.Kind, r.Namespace, r.Name)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(d.json); err != nil {
		return d.source
	}
	return fmt.Sprintf("%s: %s %s/%s", d.source, u.GetKind(), u.GetNamespace(), u.GetName())
}
