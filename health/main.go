// Command capi-gitops-health checks and evaluates the health checks capi-gitops generates for Cluster API kinds, for
// both GitOps engines: Argo CD's Lua (`resource.customizations.health.<group>_<Kind>`), run the way Argo CD runs it,
// and Flux's `healthCheckExprs` (CEL), evaluated by Flux's own library at the version kustomize-controller pins.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const usage = `capi-gitops-health: Argo CD (Lua) and Flux (CEL) health checks for Cluster API kinds.

Usage:
  capi-gitops-health check < checks.json
      Parses/compiles every check: each Argo CD script with gopher-lua, each Flux healthCheckExprs entry with
      Flux's CEL evaluator as kustomize-controller builds it (an expression that does not parse, an empty current,
      a second entry for one kind are problems). Prints {"problems":[{"engine","key","message"}]}.
  capi-gitops-health eval --checks FILE [--argo-builtin] [--argo-cd-dir DIR] < objects.jsonl
      For each object (JSON, one per line) prints one JSON line, in input order:
      {"apiVersion","kind","namespace","name","argo":{"status","message"}|null,"flux":{"status","message"}}.
      argo: the script FILE configures for the kind, run like Argo CD; null when none. With --argo-builtin a kind
      FILE has no script for gets Argo CD's built-in one, as a real Argo CD install does.
      flux: the matching healthCheckExprs entry of FILE, else kstatus, as kustomize-controller reports.
  capi-gitops-health builtin-argo [--group G]... [--argo-cd-dir DIR]
      Prints Argo CD's built-in health scripts (argo-cd ` + argoCDVersion + ` resource_customizations, from the Go module
      cache) as checks JSON {"argo":{"<group>_<Kind>":lua},"flux":[]}; default groups: cluster.x-k8s.io and its
      subgroups.

checks.json is the HealthChecks JSON: {"argo":{"<group>_<Kind>":"<lua>"},"flux":[{apiVersion,kind,current,
inProgress,failed}]}.

Exit codes: 0 fine; 1 check found problems; 2 bad input or usage (message on stderr).
`

func main() {
	code, err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "capi-gitops-health:", err)
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) (int, error) {
	if len(args) == 0 {
		return 2, errors.New("no command (check, eval, builtin-argo); see --help")
	}
	var err error
	code := 0
	switch args[0] {
	case "-h", "--help", "help":
		_, err = io.WriteString(stdout, usage)
		return 0, err
	case "check":
		code, err = runCheck(args[1:], stdin, stdout)
	case "eval":
		err = runEval(ctx, args[1:], stdin, stdout)
	case "builtin-argo":
		err = runBuiltinArgo(args[1:], stdout)
	default:
		return 2, fmt.Errorf("unknown command %q (check, eval, builtin-argo); see --help", args[0])
	}
	if errors.Is(err, flag.ErrHelp) {
		_, err = io.WriteString(stdout, usage)
		return 0, err
	}
	if err != nil {
		return 2, err
	}
	return code, nil
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func runCheck(args []string, stdin io.Reader, stdout io.Writer) (int, error) {
	fs := newFlags("check")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() > 0 {
		return 2, fmt.Errorf("check takes no arguments (checks JSON on stdin), got %q", fs.Args())
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		return 2, err
	}
	checks, err := parseChecks(data)
	if err != nil {
		return 2, err
	}
	problems := checkAll(checks)
	if err := writeJSON(stdout, struct {
		Problems []Problem `json:"problems"`
	}{problems}); err != nil {
		return 2, err
	}
	if len(problems) > 0 {
		return 1, nil
	}
	return 0, nil
}

// checkAll is `check`: Argo CD scripts by key, then Flux entries in their order.
func checkAll(c *Checks) []Problem {
	problems := []Problem{}
	for _, key := range sortedKeys(c.Argo) {
		if _, err := argoOverrideKey(key); err != nil {
			problems = append(problems, Problem{"argo", key, err.Error()})
			continue
		}
		if strings.TrimSpace(c.Argo[key]) == "" {
			// Argo CD ignores an empty script and falls back to its built-in one (or none).
			problems = append(problems, Problem{"argo", key, "the health script is empty"})
			continue
		}
		if err := compileLua(key, c.Argo[key]); err != nil {
			problems = append(problems, Problem{"argo", key, strings.TrimSpace(err.Error())})
		}
	}
	return append(problems, checkFlux(c.Flux)...)
}

// result is one line of `eval`.
type result struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Namespace  string        `json:"namespace"`
	Name       string        `json:"name"`
	Argo       *EngineStatus `json:"argo"`
	Flux       *EngineStatus `json:"flux"`
}

// evaluator holds what `eval` runs: the configured Argo CD scripts by lookup key, optionally the built-in ones, and
// Flux's reader.
type evaluator struct {
	argo     map[string]string
	argoKeys []string
	builtin  *builtinArgo
	flux     *fluxReader
}

func newEvaluator(c *Checks, builtin *builtinArgo) (*evaluator, error) {
	e := &evaluator{argo: map[string]string{}, builtin: builtin}
	for _, suffix := range sortedKeys(c.Argo) {
		key, err := argoOverrideKey(suffix)
		if err != nil {
			return nil, err
		}
		if c.Argo[suffix] != "" {
			e.argo[key] = c.Argo[suffix]
			e.argoKeys = append(e.argoKeys, key)
		}
	}
	flux, err := newFluxReader(c.Flux)
	if err != nil {
		// kustomize-controller stalls the Kustomization on this: nothing is evaluated.
		return nil, fmt.Errorf("flux healthCheckExprs: %w", err)
	}
	e.flux = flux
	return e, nil
}

// argoScriptFor is Argo CD's lookup (util/lua GetHealthScript): the configured script for "<group>/<Kind>", else a
// configured wildcard key that matches (in key order here; Argo CD's map order is random), else the built-in script
// when asked for.
func (e *evaluator) argoScriptFor(u *unstructured.Unstructured) *argoScript {
	gvk := u.GroupVersionKind()
	key := gvk.Kind
	if gvk.Group != "" {
		key = gvk.Group + "/" + gvk.Kind
	}
	if s, ok := e.argo[key]; ok {
		return &argoScript{source: s}
	}
	for _, k := range e.argoKeys {
		if strings.Contains(k, "*") {
			if ok, _ := path.Match(k, key); ok {
				return &argoScript{source: e.argo[k]}
			}
		}
	}
	if e.builtin != nil {
		if s, ok := e.builtin.lookup(key); ok {
			return &argoScript{source: s, openLibs: true}
		}
	}
	return nil
}

func (e *evaluator) eval(ctx context.Context, u *unstructured.Unstructured) result {
	r := result{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
	if s := e.argoScriptFor(u); s != nil {
		st := argoHealth(u, *s)
		r.Argo = &st
	}
	st := e.flux.status(ctx, u)
	r.Flux = &st
	return r
}

func runEval(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlags("eval")
	checksFile := fs.String("checks", "", "HealthChecks JSON file")
	builtin := fs.Bool("argo-builtin", false, "fall back to Argo CD's built-in scripts")
	argoDir := fs.String("argo-cd-dir", "", "argo-cd module directory (default: go mod download)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *checksFile == "" || fs.NArg() > 0 {
		return errors.New("eval needs --checks FILE and no other arguments (objects on stdin)")
	}
	data, err := os.ReadFile(*checksFile)
	if err != nil {
		return err
	}
	checks, err := parseChecks(data)
	if err != nil {
		return err
	}
	var b *builtinArgo
	if *builtin {
		dir, err := argoCDDir(*argoDir)
		if err != nil {
			return err
		}
		if b, err = loadBuiltinArgo(dir); err != nil {
			return err
		}
	}
	e, err := newEvaluator(checks, b)
	if err != nil {
		return err
	}
	objs, err := readObjects(stdin)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	for _, u := range objs {
		if err := writeJSON(w, e.eval(ctx, u)); err != nil {
			return err
		}
	}
	return w.Flush()
}

// readObjects reads every object first, so a bad line fails the run before anything is printed.
func readObjects(r io.Reader) ([]*unstructured.Unstructured, error) {
	dec := json.NewDecoder(r)
	var objs []*unstructured.Unstructured
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("object %d: %w", n, err)
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			continue
		}
		// The API machinery's decoder, so integers are int64 as in a controller (Flux compares
		// status.observedGeneration as int64).
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("object %d: %w", n, err)
		}
		objs = append(objs, u)
	}
}

type groupsFlag []string

func (g *groupsFlag) String() string     { return strings.Join(*g, ",") }
func (g *groupsFlag) Set(v string) error { *g = append(*g, v); return nil }

func runBuiltinArgo(args []string, stdout io.Writer) error {
	fs := newFlags("builtin-argo")
	var groups groupsFlag
	fs.Var(&groups, "group", "API group (repeatable)")
	argoDir := fs.String("argo-cd-dir", "", "argo-cd module directory (default: go mod download)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("builtin-argo takes no arguments, got %q", fs.Args())
	}
	dir, err := argoCDDir(*argoDir)
	if err != nil {
		return err
	}
	b, err := loadBuiltinArgo(dir)
	if err != nil {
		return err
	}
	out := Checks{Argo: map[string]string{}, Flux: nil}
	if len(groups) == 0 {
		for key := range b.exact {
			g, _, _ := strings.Cut(key, "/")
			if g == "cluster.x-k8s.io" || strings.HasSuffix(g, ".cluster.x-k8s.io") {
				groups = append(groups, g)
			}
		}
	}
	for _, g := range groups {
		for k, s := range b.forGroup(g) {
			out.Argo[k] = s
		}
	}
	return writeJSON(stdout, struct {
		Argo map[string]string `json:"argo"`
		Flux []any             `json:"flux"`
	}{out.Argo, []any{}})
}

// writeJSON writes one JSON line, leaving <, > and & readable (they occur in scripts and CEL).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
