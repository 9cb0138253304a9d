package main

// Argo CD's built-in health scripts (resource_customizations/<group>/<Kind>/health.lua), read at run time from the
// argo-cd module in the Go module cache: the negative control evaluates checks "as Argo CD ships them".

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

const (
	argoCDModule = "github.com/argoproj/argo-cd/v3"
	// argoCDVersion is the Argo CD whose health handling this program follows (versions.json pins the same).
	argoCDVersion = "v3.5.7"
)

// argoCDDir finds the argo-cd module directory: the given one, else `go mod download` (which fetches it once).
func argoCDDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	cmd := exec.Command("go", "mod", "download", "-json", argoCDModule+"@"+argoCDVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Dir != "" {
		return info.Dir, nil
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", argoCDModule, argoCDVersion, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", argoCDModule, argoCDVersion, err, strings.TrimSpace(stderr.String()))
	}
	return "", fmt.Errorf("go mod download %s@%s gave no directory", argoCDModule, argoCDVersion)
}

// builtinArgo holds the built-in scripts by Argo CD's lookup key ("<group>/<Kind>"), and the wildcard directories
// (a "_" in a directory name stands for "*"), sorted as Argo CD sorts them.
type builtinArgo struct {
	exact     map[string]string
	wildcards []string
	root      string
}

func loadBuiltinArgo(moduleDir string) (*builtinArgo, error) {
	root := filepath.Join(moduleDir, "resource_customizations")
	b := &builtinArgo{exact: map[string]string{}, root: root}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "health.lua" {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b.exact[rel] = string(data)
		if strings.Contains(rel, "_") {
			b.wildcards = append(b.wildcards, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading Argo CD's built-in health scripts: %w", err)
	}
	if len(b.exact) == 0 {
		return nil, errors.New("no health.lua under " + root)
	}
	sort.Strings(b.wildcards)
	return b, nil
}

// lookup is Argo CD's built-in search for a kind: the exact directory, else the first wildcard directory matching.
func (b *builtinArgo) lookup(key string) (string, bool) {
	if s, ok := b.exact[key]; ok {
		return s, true
	}
	for _, w := range b.wildcards {
		if ok, _ := path.Match(strings.ReplaceAll(w, "_", "*"), key); ok {
			return b.exact[w], true
		}
	}
	return "", false
}

// forGroup gives the exact built-in scripts of one API group as HealthChecks `argo` keys ("<group>_<Kind>").
func (b *builtinArgo) forGroup(group string) map[string]string {
	out := map[string]string{}
	for key, s := range b.exact {
		g, kind, ok := strings.Cut(key, "/")
		if ok && g == group && !strings.Contains(key, "_") {
			out[g+"_"+kind] = s
		}
	}
	return out
}
