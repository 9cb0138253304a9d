// Command capi-gitops-admission runs the upstream Cluster API (CAPI) and CAPA admission offline on rendered objects:
// strict decoding, the CRD structural schema with defaults, CEL rules, v1beta1 → v1beta2 conversion and the upstream
// mutating and validating webhooks, called through a controller-runtime webhook server that is never started.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	kruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/capi-gitops/admission/upstream"
)

const usage = `capi-gitops-admission: run the upstream CAPI v1.13 / CAPA v2.13 admission on rendered objects, offline.

Usage:
  capi-gitops-admission [flags] [FILE...]     (no FILE or "-": read stdin)

Input: a multi-document YAML stream or JSON objects (JSON lines). For each object, as the API server on CREATE:
  decode      the version must be served; strict decoding into the upstream Go type (unknown, duplicate fields)
  schema      the CRD's structural schema: defaults, then OpenAPI validation (and metadata)
  cel         the CRD's x-kubernetes-validations rules
  conversion  CAPI v1beta1 → v1beta2 with the upstream conversion functions
  webhook     the upstream mutating then validating webhooks (CAPI core, kubeadm bootstrap and control plane, CAPA)
With --old, objects with the same group, kind, namespace and name in the previous render are admitted as UPDATE.
Kinds without a loaded CAPI/CAPA CRD (ConfigMap, Namespace, Argo CD, Flux, ...) give a "skipped" line.

Output: one JSON line per object, in input order:
  {"apiVersion","kind","namespace","name","cluster","file","operation","allowed","stage","messages":[{"field","message"}]}
  (+ "warnings" when a webhook returned some). "stage" is where it was denied, "webhook" when all stages passed.
Exit status: 0 all allowed, 1 some denied, 2 tool error.

Flags:
`

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func newScheme() (*kruntime.Scheme, error) { return upstream.NewScheme() }

// setFeatureGates sets the gates as management/providers does: MachinePool on, the rest at CAPI's defaults.
// CAPA's feature gates are CAPI's MutableGates with CAPA's gates added, so one Set serves both.
func setFeatureGates(extra string) error {
	gates := "MachinePool=true"
	if extra != "" {
		gates += "," + extra
	}
	return upstream.SetFeatureGates(gates)
}

// defaultCRDDirs finds the CRD folders of the CAPI and CAPA modules this program was built with in the module cache.
func defaultCRDDirs() []string { return upstream.CRDDirs() }

func readDocs(paths []string) ([]document, error) {
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	var docs []document
	for _, p := range paths {
		var data []byte
		var err error
		if p == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(p)
		}
		if err != nil {
			return nil, err
		}
		d, err := splitDocuments(data, p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// newAdmitter loads the CRDs under dirs and the scheme of the CAPI and CAPA API types.
func newAdmitter(dirs []string, opts options) (*admitter, error) {
	crds, err := loadCRDs(dirs)
	if err != nil {
		return nil, err
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition found in %s", strings.Join(dirs, ", "))
	}
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	return &admitter{scheme: scheme, crds: crds, opts: opts}, nil
}

func main() {
	tuneGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// gcPercent is the heap growth (GOGC) this program runs with when GOGC is not set.
const gcPercent = 50

// tuneGC halves the garbage collector's default heap growth, unless GOGC says otherwise: validate runs this program
// beside a Node process holding the fleet's renders, and at 1000 clusters (17,000 objects) the default growth kept
// ≈ 40 MB of garbage waiting: peak 214–223 → 176–181 MB resident, for 15% more CPU (10.4 → 12.0 s; alternated 3×,
// admission/README.md).
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("capi-gitops-admission", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var crdDirs stringList
	fs.Var(&crdDirs, "crds", "folder of CRD YAML files, searched recursively (repeatable; default: the CAPI/CAPA module folders in the Go module cache, else .tools/crds)")
	oldFile := fs.String("old", "", "previous render: objects found in it are admitted as UPDATE")
	clusterAnn := fs.String("cluster-annotation", "capi-gitops.io/cluster", "annotation naming an object's cluster (passed through)")
	fileAnn := fs.String("file-annotation", "capi-gitops.io/file", "annotation naming an object's source file (passed through; falls back to kustomize's config.kubernetes.io/origin path)")
	gates := fs.String("feature-gates", "", "extra CAPI/CAPA feature gates, e.g. ClusterTopology=true (MachinePool=true is always set)")
	disable := fs.String("disable-stages", "", "comma-separated stages to switch off (decode,schema,cel,conversion,webhook), to see what each one catches; not for real checks")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel workers")
	var help strings.Builder
	fs.Usage = func() {
		fmt.Fprint(&help, usage)
		fs.SetOutput(&help)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, help.String())
			return 0
		}
		fmt.Fprint(stderr, help.String())
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "capi-gitops-admission: %v\n", err)
		return 2
	}
	if err := setFeatureGates(*gates); err != nil {
		return fail(err)
	}
	dirs := []string(crdDirs)
	if len(dirs) == 0 {
		dirs = defaultCRDDirs()
		if len(dirs) == 0 {
			if _, err := os.Stat(".tools/crds"); err == nil {
				dirs = []string{".tools/crds"}
			}
		}
	}
	if len(dirs) == 0 {
		return fail(fmt.Errorf("no CRD folder found: give --crds DIR"))
	}
	disabled := map[string]bool{}
	for _, s := range strings.Split(*disable, ",") {
		switch s = strings.TrimSpace(s); {
		case s == "":
		case isStage(s):
			disabled[s] = true
		default:
			return fail(fmt.Errorf("--disable-stages: unknown stage %q", s))
		}
	}
	a, err := newAdmitter(dirs, options{clusterAnnotation: *clusterAnn, fileAnnotation: *fileAnn, workers: *workers, disabled: disabled})
	if err != nil {
		return fail(err)
	}
	docs, err := readDocs(fs.Args())
	if err != nil {
		return fail(err)
	}
	var oldDocs []document
	if *oldFile != "" {
		if oldDocs, err = readDocs([]string{*oldFile}); err != nil {
			return fail(err)
		}
	}
	results, err := a.admit(docs, oldDocs)
	if err != nil {
		return fail(err)
	}
	w := bufio.NewWriter(stdout)
	code := 0
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range results {
		if !r.Allowed {
			code = 1
		}
		if err := enc.Encode(r); err != nil {
			return fail(err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	return code
}
