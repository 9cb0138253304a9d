package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

type crdSet map[schema.GroupKind]*crdInfo

// loadCRDs reads every CustomResourceDefinition (apiextensions.k8s.io/v1) found in the YAML/JSON files under dirs.
func loadCRDs(dirs []string) (crdSet, error) {
	set := crdSet{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
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
				crd := &apiextensionsv1.CustomResourceDefinition{}
				if err := yaml.Unmarshal(doc, crd); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				if crd.Kind != "CustomResourceDefinition" {
					continue
				}
				info, err := prepareCRD(crd)
				if err != nil {
					return fmt.Errorf("%s: CRD %s: %w", p, crd.Name, err)
				}
				set[schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}] = info
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
