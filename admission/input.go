package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func bufioReader(data []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(data)) }

// document is one object of the input as given: its JSON form and the duplicate keys found in its YAML source.
type document struct {
	json       []byte
	duplicates []string // field paths of keys given twice in YAML (JSON duplicates are found by the strict decoder)
	source     string   // file name or "-" for stdin
}

// splitDocuments reads a multi-document YAML stream or a stream of JSON objects (JSON lines).
func splitDocuments(data []byte, source string) ([]document, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var docs []document
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: JSON: %w", source, err)
			}
			docs = append(docs, document{json: []byte(raw), source: source})
		}
		return docs, nil
	}
	yamlDocs, err := yamlDocuments(data, source)
	if err != nil {
		return nil, err
	}
	for _, doc := range yamlDocs {
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var node yamlv3.Node
		if err := yamlv3.Unmarshal(doc, &node); err != nil {
			return nil, fmt.Errorf("%s: YAML: %w", source, err)
		}
		var dups []string
		findDuplicates(&node, "", &dups)
		// sigs.k8s.io/yaml (the Kubernetes YAML→JSON conversion) keeps the last of duplicate keys; they are reported
		// from dups as the API server's strict field validation would.
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: YAML: %w", source, err)
		}
		if string(j) == "null" {
			continue
		}
		docs = append(docs, document{json: j, duplicates: dups, source: source})
	}
	return docs, nil
}

// yamlDocuments splits a multi-document YAML stream into its documents (the Kubernetes YAML reader).
func yamlDocuments(data []byte, source string) ([][]byte, error) {
	var docs [][]byte
	r := utilyaml.NewYAMLReader(bufioReader(data))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		docs = append(docs, doc)
	}
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func findDuplicates(n *yamlv3.Node, path string, dups *[]string) {
	switch n.Kind {
	case yamlv3.DocumentNode:
		for _, c := range n.Content {
			findDuplicates(c, path, dups)
		}
	case yamlv3.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			p := k
			if path != "" {
				p = path + "." + k
			}
			if seen[k] {
				*dups = append(*dups, p)
			}
			seen[k] = true
			findDuplicates(n.Content[i+1], p, dups)
		}
	case yamlv3.SequenceNode:
		for i, c := range n.Content {
			findDuplicates(c, fmt.Sprintf("%s[%d]", path, i), dups)
		}
	}
}
