package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// crdVersion is what the API server prepares for one version of a custom resource: its structural schema (for
// defaulting, pruning and CEL), the OpenAPI schema validator and the compiled CEL rules.
type crdVersion struct {
	served     bool
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

type crdInfo struct {
	name       string
	plural     string
	namespaced bool
	storage    string
	versions   map[string]*crdVersion
}

// crdSet holds the CRDs found under the --crds folders by group and kind. Each is decoded and prepared (structural
// schema, OpenAPI validator, CEL rules — most of a run's start-up when done for all ~40 CAPI/CAPA CRDs) the first time
// an object of its kind is admitted, once per run: a cluster's render uses about a third of them.
type crdSet map[schema.GroupKind]*lazyCRD

type lazyCRD struct {
	doc    []byte
	source string
	once   sync.Once
	info   *crdInfo
	err    error
}

// get is the prepared CRD of gk, nil when none was found; an error when its document does not decode or prepare.
func (s crdSet) get(gk schema.GroupKind) (*crdInfo, error) {
	l := s[gk]
	if l == nil {
		return nil, nil
	}
	l.once.Do(func() {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(l.doc, crd); err != nil {
			l.err = fmt.Errorf("%s: %w", l.source, err)
			return
		}
		if got := (schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}); got != gk {
			l.err = fmt.Errorf("%s: CRD %s: indexed as %s but decodes as %s", l.source, crd.Name, gk, got)
			return
		}
		if l.info, l.err = prepareCRD(crd); l.err != nil {
			l.err = fmt.Errorf("%s: CRD %s: %w", l.source, crd.Name, l.err)
		}
	})
	return l.info, l.err
}

// crdHeader is the part of a CRD the index needs.
type crdHeader struct {
	Kind string `json:"kind"`
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
	} `json:"spec"`
}

// scanHeader reads kind, spec.group and spec.names.kind from a CRD document's lines as controller-gen and
// `npm run setup` write them (block style, two-space indentation), without decoding the whole document; ok is false
// when the document is not laid out that way (it is then decoded in full).
func scanHeader(doc []byte) (h crdHeader, ok bool) {
	section := ""
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case strings.HasPrefix(line, "kind: "):
			h.Kind = strings.TrimSpace(strings.TrimPrefix(line, "kind: "))
		case strings.HasPrefix(line, "spec:"):
			section = "spec"
		case len(line) > 0 && line[0] != ' ' && line[0] != '#':
			section = ""
		case section == "spec" && strings.HasPrefix(line, "  group: "):
			h.Spec.Group = strings.TrimSpace(strings.TrimPrefix(line, "  group: "))
		case section == "spec" && strings.HasPrefix(line, "  names:"):
			section = "names"
		case section == "names" && strings.HasPrefix(line, "    kind: "):
			h.Spec.Names.Kind = strings.TrimSpace(strings.TrimPrefix(line, "    kind: "))
		case section == "names" && len(line) > 2 && line[2] != ' ':
			section = "spec"
			if strings.HasPrefix(line, "  group: ") {
				h.Spec.Group = strings.TrimSpace(strings.TrimPrefix(line, "  group: "))
			}
		}
	}
	plain := func(v string) bool { return v != "" && !strings.ContainsAny(v, "\"'{}[]&*!|>%@`#,") }
	return h, plain(h.Kind) && plain(h.Spec.Group) && plain(h.Spec.Names.Kind)
}

// eachCRDDocument calls fn with every document of the YAML/JSON files under dir that mentions
// CustomResourceDefinition (a CRD or not: fn decides).
func eachCRDDocument(dir string, fn func(path string, doc []byte) error) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		docs, err := yamlDocuments(data, p)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			if !bytes.Contains(doc, []byte("CustomResourceDefinition")) {
				continue
			}
			if err := fn(p, doc); err != nil {
				return err
			}
		}
		return nil
	})
}

// loadCRDs indexes every CustomResourceDefinition (apiextensions.k8s.io/v1) found in the YAML/JSON files under dirs.
func loadCRDs(dirs []string) (crdSet, error) {
	set := crdSet{}
	for _, dir := range dirs {
		err := eachCRDDocument(dir, func(p string, doc []byte) error {
			h, ok := scanHeader(doc)
			if !ok {
				if err := yaml.Unmarshal(doc, &h); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
			}
			if h.Kind == "CustomResourceDefinition" {
				set[schema.GroupKind{Group: h.Spec.Group, Kind: h.Spec.Names.Kind}] = &lazyCRD{doc: doc, source: p}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return set, nil
}

func prepareCRD(crd *apiextensionsv1.CustomResourceDefinition) (*crdInfo, error) {
	info := &crdInfo{
		name:       crd.Name,
		plural:     crd.Spec.Names.Plural,
		namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		versions:   map[string]*crdVersion{},
	}
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		if v.Storage {
			info.storage = v.Name
		}
		cv := &crdVersion{served: v.Served}
		info.versions[v.Name] = cv
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		internal := &apiextensionsinternal.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(v.Schema, internal, nil); err != nil {
			return nil, err
		}
		s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
		if err != nil {
			return nil, fmt.Errorf("version %s: structural schema: %w", v.Name, err)
		}
		s = s.DeepCopy()
		if err := structuraldefaulting.PruneDefaults(s); err != nil {
			return nil, fmt.Errorf("version %s: %w", v.Name, err)
		}
		cv.structural = s
		validator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
		if err != nil {
			return nil, fmt.Errorf("version %s: %w", v.Name, err)
		}
		cv.validator = validator
		cv.cel = cel.NewValidator(s, true, celconfig.PerCallLimit) // nil when the schema has no x-kubernetes-validations
	}
	return info, nil
}
