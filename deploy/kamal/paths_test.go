package kamal_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/kamal"
)

func TestLoadKeepsSecretsPathsThatDoNotDependOnTheWorkingDirectory(t *testing.T) {
	dir := kamalProject(t, map[string]string{
		"config/deploy.yml": "service: hello\nimage: acme/hello\nservers:\n  - 203.0.113.10\nenv:\n  secret:\n    - SECRET_KEY_BASE\n",
		".kamal/secrets":    "SECRET_KEY_BASE=from-kamal\n",
	})
	t.Chdir(filepath.Dir(dir))
	app, report, err := kamal.Load(filepath.Base(dir), "")
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(filepath.Base(dir), ".kamal", "secrets")}, report.SecretFiles,
		"the report names the files as they were given")

	// Somewhere else, as a test in another package directory would be.
	elsewhere := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(elsewhere, filepath.Base(dir), ".kamal"), 0o755))
	t.Chdir(elsewhere)
	v, err := app.Secrets.Secret(t.Context(), "SECRET_KEY_BASE")
	require.NoError(t, err)
	assert.Equal(t, "from-kamal", v, "the import's files are read, not ones relative to the new directory")
}

func TestSecretsResolveRelativeFilesAgainstTheProjectRoot(t *testing.T) {
	root := kamalProject(t, map[string]string{
		"go.mod":         "module example.com/app\n",
		".kamal/secrets": "TOKEN=t0k\n",
		"magefiles/x.go": "package main\n",
	})
	t.Chdir(filepath.Join(root, "magefiles"))
	v, err := kamal.Secrets{Files: []string{".kamal/secrets"}}.Secret(t.Context(), "TOKEN")
	require.NoError(t, err)
	assert.Equal(t, "t0k", v)
}
