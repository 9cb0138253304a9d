package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/apis/kustomize"
)

// Checks is the HealthChecks JSON the generator writes (generator/src/plan/health-checks.ts): the Argo CD
// `resource.customizations.health.<group>_<Kind>` Lua scripts by key suffix, and the Flux Kustomization
// `spec.healthCheckExprs` entries.
type Checks struct {
	Argo map[string]string             `json:"argo"`
	Flux []kustomize.CustomHealthCheck `json:"flux"`
}

// Problem is one thing `check` refuses, keyed the way the user finds it in the render.
type Problem struct {
	Engine  string `json:"engine"`
	Key     string `json:"key"`
	Message string `json:"message"`
}

// parseChecks decodes the HealthChecks JSON. Unknown fields are ignored the way the API server prunes them, so the
// generator may add fields before this program reads them.
func parseChecks(data []byte) (*Checks, error) {
	var c Checks
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("health checks: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("health checks: more than one JSON value")
	}
	if c.Argo == nil {
		c.Argo = map[string]string{}
	}
	return &c, nil
}

// fluxKey names a Flux entry in problems: "<apiVersion>/<Kind>" (the Kind may be empty: the entry covers the group).
func fluxKey(hc kustomize.CustomHealthCheck) string {
	return hc.APIVersion + "/" + hc.Kind
}

// argoOverrideKey turns an argocd-cm key suffix into the key Argo CD looks objects up by ("<group>/<Kind>", or the
// Kind alone for the core group), refusing what Argo CD's settings manager refuses: more than one underscore, or
// nothing at all.
func argoOverrideKey(suffix string) (string, error) {
	parts := strings.Split(suffix, "_")
	switch {
	case len(parts) == 2:
		return parts[0] + "/" + parts[1], nil
	case len(parts) == 1 && suffix != "":
		return suffix, nil
	}
	return "", fmt.Errorf("key %q is not <group>_<Kind> or <Kind>: Argo CD refuses resource.customizations.health.%s", suffix, suffix)
}
