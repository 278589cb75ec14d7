package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kamalProject copies a Kamal project of deploy/kamal/testdata into a
// fresh directory and returns it.
func kamalProject(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("../../deploy/kamal/testdata", name))))
	return dir
}

// importIn runs `slipway import-kamal` with args and returns its exit
// code, stdout and stderr.
func importIn(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"import-kamal"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestImportKamal(t *testing.T) {
	t.Run("writes deployment/app.go and prints the report", func(t *testing.T) {
		dir := kamalProject(t, "destinations")
		code, stdout, stderr := importIn(dir)
		require.Equal(t, 0, code, stderr)
		src, err := os.ReadFile(filepath.Join(dir, "deployment", "app.go"))
		require.NoError(t, err)
		assert.Contains(t, string(src), "package deployment\n")
		assert.Contains(t, string(src), "func staging(a *deploy.App) {")
		assert.Contains(t, string(src), `"../.kamal/secrets-common"`, "paths start from the deployment module")
		assert.Contains(t, stdout, "Kamal import of ")
		assert.Contains(t, stdout, "wrote "+filepath.Join(dir, "deployment", "app.go"))
		assert.Contains(t, stdout, "go mod init", "there is no deployment module yet")
	})
	t.Run("writes one destination to -out", func(t *testing.T) {
		dir := kamalProject(t, "destinations")
		out := filepath.Join(t.TempDir(), "staging.go")
		code, _, stderr := importIn("-dest", "staging", "-out", out, "-package", "staging", dir)
		require.Equal(t, 0, code, stderr)
		src, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Contains(t, string(src), "package staging\n")
		assert.Contains(t, string(src), `Destination: "staging",`)
	})
	t.Run("refuses to overwrite a file, and changes nothing", func(t *testing.T) {
		dir := kamalProject(t, "rails")
		out := filepath.Join(dir, "deployment", "app.go")
		require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
		require.NoError(t, os.WriteFile(out, []byte("mine\n"), 0o644))
		code, stdout, stderr := importIn(dir)
		assert.Equal(t, exitInvalid, code)
		assert.Contains(t, stderr, out+" exists")
		assert.Empty(t, stdout)
		src, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, "mine\n", string(src))
	})
	t.Run("refuses a config the importer refuses, and writes nothing", func(t *testing.T) {
		dir := kamalProject(t, "laughs")
		code, _, stderr := importIn(dir)
		assert.Equal(t, exitInvalid, code)
		assert.Contains(t, stderr, "MaxValues")
		assert.Contains(t, stderr, "nothing was written")
		assert.NoDirExists(t, filepath.Join(dir, "deployment"))
	})
	t.Run("refuses an unknown destination", func(t *testing.T) {
		dir := kamalProject(t, "destinations")
		code, _, stderr := importIn("-dest", "qa", dir)
		assert.Equal(t, exitInvalid, code)
		assert.Contains(t, stderr, "known destinations: production, staging")
		assert.NoDirExists(t, filepath.Join(dir, "deployment"))
	})
}
