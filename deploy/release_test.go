package deploy

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReleaseImageRef(t *testing.T) {
	a := App{Image: "ghcr.io/acme/hello"}
	assert.Equal(t, "ghcr.io/acme/hello:abc123", Release{Version: "abc123"}.ImageRef(a))
	assert.Equal(t, "registry.local/hello@sha256:00", Release{Version: "abc123", Image: "registry.local/hello@sha256:00"}.ImageRef(a))
}

// gitRepo makes an empty git repository in a temp dir.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	runGit(t, dir, "init", "--quiet")
	return dir
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=Slipway Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

func TestGitVersion(t *testing.T) {
	dir := gitRepo(t)
	writeFile(t, filepath.Join(dir, "main.go"), "package main\n")
	writeFile(t, filepath.Join(dir, ".gitignore"), "*.log\n")
	runGit(t, dir, "add", ".")
	runGit(t, dir, "commit", "--quiet", "-m", "first")
	head := runGit(t, dir, "rev-parse", "HEAD")

	version := func(t *testing.T) string {
		t.Helper()
		v, err := GitVersion(t.Context(), dir)
		require.NoError(t, err)
		require.NoError(t, Release{Version: v}.Validate(), "a git version is a valid release version")
		return v
	}

	t.Run("is the short commit of a clean tree", func(t *testing.T) {
		assert.Equal(t, head[:12], version(t))
		assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{12}$`), version(t))
	})
	t.Run("ignores ignored files", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "debug.log"), "noise\n")
		assert.Equal(t, head[:12], version(t))
	})
	dirty := regexp.MustCompile(`^` + head[:12] + `-dirty-[0-9a-f]{8}$`)
	t.Run("is dirty with an untracked file", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "new.go"), "package main\n")
		v := version(t)
		assert.Regexp(t, dirty, v)
		assert.Equal(t, v, version(t), "the same dirty tree is the same version")
		writeFile(t, filepath.Join(dir, "new.go"), "package main // other\n")
		assert.NotEqual(t, v, version(t), "another content is another version")
		require.NoError(t, os.Remove(filepath.Join(dir, "new.go")))
		assert.Equal(t, head[:12], version(t))
	})
	t.Run("is dirty with a changed tracked file", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "main.go"), "package main // changed\n")
		v := version(t)
		assert.Regexp(t, dirty, v)
		writeFile(t, filepath.Join(dir, "main.go"), "package main // changed again\n")
		assert.Regexp(t, dirty, version(t))
		assert.NotEqual(t, v, version(t), "two dirty trees do not collide")
		sub := filepath.Join(dir, "pkg")
		require.NoError(t, os.Mkdir(sub, 0o755)) // empty: git status does not see it
		defer os.Remove(sub)
		w, err := GitVersion(t.Context(), sub)
		require.NoError(t, err)
		assert.Equal(t, version(t), w, "the whole tree counts, wherever dir is in it")
		runGit(t, dir, "checkout", "--quiet", "--", "main.go")
		assert.Equal(t, head[:12], version(t))
	})
	t.Run("works from a subdirectory", func(t *testing.T) {
		sub := filepath.Join(dir, "cmd")
		require.NoError(t, os.Mkdir(sub, 0o755))
		v, err := GitVersion(t.Context(), sub)
		require.NoError(t, err)
		assert.Equal(t, head[:12], v)
	})
}

func TestGitVersionFailsClearly(t *testing.T) {
	t.Run("outside a repository", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir)) // even if the temp dir sits in a repository
		_, err := GitVersion(t.Context(), dir)
		require.EqualError(t, err, "git version of "+dir+": not in a git repository; run git init and commit, or give the version yourself (mage deploy -version=..., or Release.Version in Go)")
	})
	t.Run("in a repository without a commit", func(t *testing.T) {
		dir := gitRepo(t)
		_, err := GitVersion(t.Context(), dir)
		require.EqualError(t, err, "git version of "+dir+": the repository has no commit yet; commit first, or give the version yourself (mage deploy -version=..., or Release.Version in Go)")
	})
	t.Run("in a directory that does not exist", func(t *testing.T) {
		_, err := GitVersion(t.Context(), filepath.Join(t.TempDir(), "nope"))
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
}
