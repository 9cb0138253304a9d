package main

// Flux: the health kustomize-controller v1.9.6 reports for an object, computed by Flux's own code — fluxcd/pkg/runtime
// cel (the healthCheckExprs evaluator, RFC 0009 order) and fluxcd/cli-utils kstatus (what Flux falls back to for
// kinds without an expression).

import (
	"context"
	"fmt"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/statusreaders"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// checkFlux builds every healthCheckExprs entry as kustomize-controller does when it reconciles a Kustomization
// (cel.NewStatusReader: each entry through cel.NewStatusEvaluator, a GroupKind at most once), so an expression that
// does not parse, a missing `current` or a duplicate is a problem here rather than a stalled Kustomization.
func checkFlux(checks []kustomize.CustomHealthCheck) []Problem {
	var problems []Problem
	seen := map[schema.GroupKind]int{}
	for i, hc := range checks {
		key := fluxKey(hc)
		if hc.APIVersion == "" {
			problems = append(problems, Problem{"flux", key, fmt.Sprintf("healthCheckExprs[%d]: apiVersion is required", i)})
			continue
		}
		if _, err := schema.ParseGroupVersion(hc.APIVersion); err != nil {
			problems = append(problems, Problem{"flux", key, fmt.Sprintf("healthCheckExprs[%d]: %v", i, err)})
			continue
		}
		if _, err := cel.NewStatusEvaluator(&hc.HealthCheckExpressions); err != nil {
			problems = append(problems, Problem{"flux", key, fmt.Sprintf("healthCheckExprs[%d]: %v", i, err)})
		}
		gk := schema.FromAPIVersionAndKind(hc.APIVersion, hc.Kind).GroupKind()
		if j, dup := seen[gk]; dup {
			problems = append(problems, Problem{"flux", key,
				fmt.Sprintf("healthCheckExprs[%d]: a second entry for %s (the first is healthCheckExprs[%d])", i, gk, j)})
			continue
		}
		seen[gk] = i
	}
	if len(problems) == 0 {
		// The controller's own constructor, in case it refuses something the loop above does not know.
		if _, err := cel.NewStatusReader(checks); err != nil {
			problems = append(problems, Problem{"flux", "", err.Error()})
		}
	}
	return problems
}

// fluxReader is the status reader chain kustomize-controller polls with: the healthCheckExprs reader first, then
// kstatus's generic reader (status.Compute). kstatus's Deployment/StatefulSet/ReplicaSet readers, which also read
// the objects those own from the cluster, and the controller's Job reader are left out: only the object is here.
type fluxReader struct {
	readers []engine.StatusReader
}

func newFluxReader(checks []kustomize.CustomHealthCheck) (*fluxReader, error) {
	var readers []engine.StatusReader
	if len(checks) > 0 {
		ctor, err := cel.NewStatusReader(checks)
		if err != nil {
			return nil, err
		}
		readers = append(readers, ctor(nil))
	}
	readers = append(readers, statusreaders.NewGenericStatusReader(nil, status.Compute))
	return &fluxReader{readers: readers}, nil
}

// status is what Flux's poller reports for the object: an evaluation error is Unknown with the error as message
// (kustomize-controller keeps waiting on it until the Kustomization's timeout).
func (f *fluxReader) status(ctx context.Context, u *unstructured.Unstructured) EngineStatus {
	gk := u.GroupVersionKind().GroupKind()
	for _, r := range f.readers {
		if !r.Supports(gk) {
			continue
		}
		rs, err := r.ReadStatusForObject(ctx, nil, u)
		if err != nil {
			return EngineStatus{Status: string(status.UnknownStatus), Message: err.Error()}
		}
		msg := rs.Message
		if rs.Error != nil {
			msg = rs.Error.Error()
		}
		return EngineStatus{Status: string(rs.Status), Message: msg}
	}
	return EngineStatus{Status: string(status.UnknownStatus), Message: "no status reader supports " + gk.String()}
}
