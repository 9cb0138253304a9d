package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/capi-gitops/admission/upstream"
)

// newWebhookServer registers the upstream webhooks (upstream.Webhooks, the list the e2e suite serves too) on a
// controller-runtime manager that is never started and returns the webhook server's mux. Webhooks that read other
// objects get c (a fake client holding the input).
func newWebhookServer(scheme *runtime.Scheme, c client.Client) (*http.ServeMux, error) {
	// The webhooks log through controller-runtime's root logger. Until a logger is set it is a promise that keeps
	// every logger handed out (one per request, with the request's values) to fulfil them later: memory that grew
	// with the input (≈ 17 MB for 5,000 objects). Nothing was ever displayed from it; now nothing is kept either.
	ctrllog.SetLogger(logr.Discard())
	server := webhook.NewServer(webhook.Options{})
	mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, manager.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          server,
		MapperProvider: func(*rest.Config, *http.Client) (meta.RESTMapper, error) {
			return meta.NewDefaultRESTMapper(nil), nil
		},
		NewClient: func(*rest.Config, client.Options) (client.Client, error) { return c, nil },
	})
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err)
	}
	for _, s := range upstream.Webhooks(c) {
		if err := s.SetupWebhookWithManager(mgr); err != nil {
			return nil, fmt.Errorf("%T: %w", s, err)
		}
	}
	return server.WebhookMux(), nil
}

func webhookPath(prefix string, gvk schema.GroupVersionKind) string {
	return "/" + prefix + "-" + strings.ReplaceAll(gvk.Group, ".", "-") + "-" + gvk.Version + "-" + strings.ToLower(gvk.Kind)
}

type review struct {
	gvk, requestGVK   schema.GroupVersionKind
	plural            string
	namespace, name   string
	operation         admissionv1.Operation
	object, oldObject []byte
}

type reviewResult struct {
	found    bool // a webhook is registered at the path
	allowed  bool
	patched  []byte
	messages []message
	warnings []string
}

// callWebhook sends an AdmissionReview v1 through the mux (httptest: no listener, no TLS) and applies a returned patch.
func callWebhook(mux *http.ServeMux, path string, r review) (reviewResult, error) {
	req := &admissionv1.AdmissionRequest{
		UID:             types.UID(fmt.Sprintf("capi-gitops-admission-%s-%s-%s", r.gvk.Kind, r.namespace, r.name)),
		Kind:            metav1.GroupVersionKind{Group: r.gvk.Group, Version: r.gvk.Version, Kind: r.gvk.Kind},
		Resource:        metav1.GroupVersionResource{Group: r.gvk.Group, Version: r.gvk.Version, Resource: r.plural},
		RequestKind:     &metav1.GroupVersionKind{Group: r.requestGVK.Group, Version: r.requestGVK.Version, Kind: r.requestGVK.Kind},
		RequestResource: &metav1.GroupVersionResource{Group: r.requestGVK.Group, Version: r.requestGVK.Version, Resource: r.plural},
		Name:            r.name,
		Namespace:       r.namespace,
		Operation:       r.operation,
		UserInfo:        authenticationv1.UserInfo{Username: "capi-gitops-admission"},
		Object:          runtime.RawExtension{Raw: r.object},
	}
	if r.oldObject != nil {
		req.OldObject = runtime.RawExtension{Raw: r.oldObject}
	}
	body, err := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  req,
	})
	if err != nil {
		return reviewResult{}, err
	}
	if _, pattern := mux.Handler(httptest.NewRequest(http.MethodPost, path, nil)); pattern == "" {
		return reviewResult{found: false, allowed: true, patched: r.object}, nil
	}
	hr := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, hr)
	if rec.Code != http.StatusOK {
		return reviewResult{}, fmt.Errorf("webhook %s: HTTP %d: %s", path, rec.Code, rec.Body.String())
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		return reviewResult{}, fmt.Errorf("webhook %s: %w", path, err)
	}
	resp := out.Response
	if resp == nil {
		return reviewResult{}, fmt.Errorf("webhook %s: no response", path)
	}
	res := reviewResult{found: true, allowed: resp.Allowed, patched: r.object, warnings: resp.Warnings}
	if !resp.Allowed {
		res.messages = statusMessages(resp.Result)
		return res, nil
	}
	if len(resp.Patch) > 0 {
		patch, err := jsonpatch.DecodePatch(resp.Patch)
		if err != nil {
			return reviewResult{}, fmt.Errorf("webhook %s: patch: %w", path, err)
		}
		patched, err := patch.Apply(r.object)
		if err != nil {
			return reviewResult{}, fmt.Errorf("webhook %s: patch: %w", path, err)
		}
		res.patched = patched
	}
	return res, nil
}

func statusMessages(s *metav1.Status) []message {
	if s == nil {
		return []message{{Message: "denied (no reason given)"}}
	}
	var msgs []message
	if s.Details != nil {
		for _, c := range s.Details.Causes {
			msgs = append(msgs, message{Field: c.Field, Message: c.Message})
		}
	}
	if len(msgs) == 0 {
		// A webhook that returned a plain error (e.g. an aggregate of one field error): "<path>: <type>: <detail>".
		f := ""
		if m := fieldErrorPrefix.FindStringSubmatch(s.Message); m != nil {
			f = m[1]
		}
		msgs = append(msgs, message{Field: f, Message: s.Message})
	}
	return msgs
}

var fieldErrorPrefix = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_.\[\]-]*): (?:Invalid value|Forbidden|Required value|Unsupported value|Duplicate value|Too long|Too many|Internal error|Not found)`)
