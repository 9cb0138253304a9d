package upstream

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
)

const (
	capiModule = "sigs.k8s.io/cluster-api"
	capaModule = "sigs.k8s.io/cluster-api-provider-aws/v2"
)

// moduleFolders are the folders of the pinned modules this package reads, per module: CRDs and webhook
// configurations (the files a provider's release manifests are built from).
var moduleFolders = map[string]struct{ crds, webhooks []string }{
	capiModule: {
		crds:     []string{"config/crd/bases", "bootstrap/kubeadm/config/crd/bases", "controlplane/kubeadm/config/crd/bases"},
		webhooks: []string{"config/webhook/manifests.yaml", "bootstrap/kubeadm/config/webhook/manifests.yaml", "controlplane/kubeadm/config/webhook/manifests.yaml"},
	},
	capaModule: {
		crds:     []string{"config/crd/bases"},
		webhooks: []string{"config/webhook/manifests.yaml"},
	},
}

// moduleDir is the module cache folder of module at the version this program was built with ("" when unknown): from
// the build information of a binary, else (a test binary has no dependencies in its build information) from
// `go list -m` in the current directory, the module being tested.
func moduleDir(module string) string {
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == module {
				version = d.Version
			}
		}
	}
	if version == "" {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	modcache := os.Getenv("GOMODCACHE")
	if modcache == "" {
		if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
			modcache = strings.TrimSpace(string(out))
		}
	}
	if modcache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			modcache = filepath.Join(home, "go", "pkg", "mod")
		}
	}
	return filepath.Join(modcache, module+"@"+version)
}

func existing(module string, rel []string) []string {
	dir := moduleDir(module)
	if dir == "" {
		return nil
	}
	var out []string
	for _, r := range rel {
		p := filepath.Join(dir, filepath.FromSlash(r))
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// CRDDirs are the CRD folders of the CAPI and CAPA modules this program was built with, in the module cache.
func CRDDirs() []string {
	return append(existing(capiModule, moduleFolders[capiModule].crds), existing(capaModule, moduleFolders[capaModule].crds)...)
}

// WebhookManifests are the webhook configuration files (MutatingWebhookConfiguration, ValidatingWebhookConfiguration)
// of the CAPI core, kubeadm bootstrap, kubeadm control plane and CAPA modules this program was built with.
func WebhookManifests() []string {
	return append(existing(capiModule, moduleFolders[capiModule].webhooks), existing(capaModule, moduleFolders[capaModule].webhooks)...)
}
