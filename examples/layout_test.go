// Package examples_test checks the layout the README documents for an
// app's repository: the app's module requires only its own dependencies
// and health/up of Slipway, whatever its nested deployment module
// requires, and an app binary links nothing of the deploy SDK.
package examples_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goIn runs the go command in dir and returns its standard output.
func goIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	require.NoError(t, err, "go %s (in %s): %s%s", strings.Join(args, " "), dir, out, stderr)
	return string(out)
}

// requirements reads the go.mod in dir: its required modules and whether each is indirect.
func requirements(t *testing.T, dir string) map[string]struct {
	Version  string
	Indirect bool
} {
	t.Helper()
	var mod struct {
		Require []struct {
			Path, Version string
			Indirect      bool
		}
	}
	require.NoError(t, json.Unmarshal([]byte(goIn(t, dir, "mod", "edit", "-json")), &mod))
	reqs := map[string]struct {
		Version  string
		Indirect bool
	}{}
	for _, r := range mod.Require {
		reqs[r.Path] = struct {
			Version  string
			Indirect bool
		}{r.Version, r.Indirect}
	}
	return reqs
}

// nonStandard lists the packages outside the standard library that the
// package pattern in dir links.
func nonStandard(t *testing.T, dir, pattern string) []string {
	t.Helper()
	return strings.Fields(goIn(t, dir, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pattern))
}

// ofTheDeploySDK tells whether an app binary linking pkg links the deploy
// SDK: its packages, the Docker client and the OpenTelemetry it brings.
func ofTheDeploySDK(pkg string) bool {
	for _, prefix := range []string{"github.com/docker/", "github.com/moby/", "go.opentelemetry.io/", "github.com/slipwayhq/slipway/deploy"} {
		if strings.HasPrefix(pkg, prefix) {
			return true
		}
	}
	return pkg == "github.com/slipwayhq/slipway/health" || pkg == "github.com/slipwayhq/slipway/targets"
}

func TestAppModuleKeepsItsOwnRequirements(t *testing.T) {
	const app = "notes"
	reqs := requirements(t, app)

	var direct []string
	for path, r := range reqs {
		if !r.Indirect {
			direct = append(direct, path)
		}
		if strings.HasPrefix(path, "github.com/slipwayhq/slipway") {
			assert.Equal(t, "github.com/slipwayhq/slipway/health/up", path, "the app requires nothing else of Slipway")
		}
	}
	assert.ElementsMatch(t, []string{"github.com/slipwayhq/slipway/health/up", "modernc.org/sqlite"}, direct)
	assert.Equal(t, "v1.57.0", reqs["modernc.org/sqlite"].Version)

	// The version the app builds with, after the deployment module's own
	// resolution: tidy has nothing to change in either module.
	for _, dir := range []string{app, app + "/deployment"} {
		goIn(t, dir, "mod", "tidy", "-diff")
	}
	assert.Equal(t, "modernc.org/sqlite v1.57.0\n", goIn(t, app, "list", "-m", "modernc.org/sqlite"))

	for _, pkg := range nonStandard(t, app, ".") {
		assert.False(t, ofTheDeploySDK(pkg), "the notes app links %s", pkg)
		if strings.HasPrefix(pkg, "github.com/slipwayhq/slipway") {
			assert.Equal(t, "github.com/slipwayhq/slipway/health/up", pkg)
		}
	}
}

func TestHealthUpRequiresNothing(t *testing.T) {
	assert.Empty(t, requirements(t, "../health/up"))
	goIn(t, "../health/up", "mod", "tidy", "-diff")
	assert.Equal(t, []string{"github.com/slipwayhq/slipway/health/up"}, nonStandard(t, "../health/up", "."),
		"health/up imports the standard library only")
}

func TestHelloLinksNothingOfTheDeploySDK(t *testing.T) {
	pkgs := nonStandard(t, ".", "./hello")
	assert.Contains(t, pkgs, "github.com/slipwayhq/slipway/health/up")
	for _, pkg := range pkgs {
		assert.False(t, ofTheDeploySDK(pkg), "hello links %s", pkg)
	}
}
