package secret

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// project makes a module in a temporary directory with a package
// directory two levels down, and returns both.
func project(t *testing.T) (root, pkg string) {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	writeFile(t, filepath.Join(root, "go.mod"), "module example.com/app\n")
	pkg = filepath.Join(root, "internal", "store")
	require.NoError(t, os.MkdirAll(pkg, 0o755))
	return root, pkg
}

func TestProjectRoot(t *testing.T) {
	t.Run("is the nearest directory with a go.mod above a package directory", func(t *testing.T) {
		root, pkg := project(t)
		t.Chdir(pkg)
		got, err := ProjectRoot()
		require.NoError(t, err)
		assert.Equal(t, root, got)
		assert.Equal(t, filepath.Join(root, ".slipway", "secrets"), ProjectPath(DefaultFile))
	})
	t.Run("is the nearest module's, for a nested module", func(t *testing.T) {
		root, _ := project(t)
		nested := filepath.Join(root, "deployment")
		writeFile(t, filepath.Join(nested, "go.mod"), "module example.com/app/deployment\n")
		t.Chdir(nested)
		got, err := ProjectRoot()
		require.NoError(t, err)
		assert.Equal(t, nested, got)
	})
	t.Run("is the working directory when no go.mod is above it", func(t *testing.T) {
		dir, err := filepath.EvalSymlinks(t.TempDir())
		require.NoError(t, err)
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "go.mod")); err == nil {
			t.Skip("the temporary directory sits in a module")
		}
		t.Chdir(dir)
		got, err := ProjectRoot()
		require.NoError(t, err)
		assert.Equal(t, dir, got)
	})
	t.Run("leaves an absolute path alone", func(t *testing.T) {
		_, pkg := project(t)
		t.Chdir(pkg)
		assert.Equal(t, "/etc/hello/secrets", ProjectPath("/etc/hello/secrets"))
	})
}

func TestFileResolvesAgainstTheProjectRoot(t *testing.T) {
	root, pkg := project(t)
	writeFile(t, filepath.Join(root, ".slipway", "secrets"), "TOKEN=t0k\n")

	t.Run("from the root, as mage deploy runs", func(t *testing.T) {
		t.Chdir(root)
		v, err := File{Path: ".slipway/secrets"}.Secret(t.Context(), "TOKEN")
		require.NoError(t, err)
		assert.Equal(t, "t0k", v)
	})
	t.Run("from a package directory, as go test runs", func(t *testing.T) {
		t.Chdir(pkg)
		v, err := File{Path: ".slipway/secrets"}.Secret(t.Context(), "TOKEN")
		require.NoError(t, err)
		assert.Equal(t, "t0k", v)
		v, err = File{}.Secret(t.Context(), "TOKEN")
		require.NoError(t, err)
		assert.Equal(t, "t0k", v, "the default path resolves the same way")
	})
	t.Run("names the resolved file when it is missing", func(t *testing.T) {
		t.Chdir(pkg)
		_, err := File{Path: ".slipway/other"}.Secret(t.Context(), "TOKEN")
		require.ErrorIs(t, err, ErrMissing)
		assert.Contains(t, err.Error(), "secrets file "+filepath.Join(root, ".slipway", "other")+" does not exist")
	})
}
