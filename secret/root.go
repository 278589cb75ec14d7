package secret

import (
	"os"
	"path/filepath"
)

// ProjectRoot returns the project's root directory: the nearest directory
// holding a go.mod, walking up from the working directory, or the working
// directory itself when none does. It is the directory a relative File
// path (and, in deploy, every relative path of an App) resolves against,
// so that `mage deploy` run at the root and `go test` run in a package
// directory below it read the same .slipway/secrets. The root is found
// again at every call, so a program that changes directory follows.
func ProjectRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if info, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !info.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return wd, nil
		}
		dir = parent
	}
}

// ProjectPath resolves p against ProjectRoot: an absolute p is returned
// cleaned, a relative one joined to the root. When the working directory
// cannot be read, p is returned as given.
func ProjectPath(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	root, err := ProjectRoot()
	if err != nil {
		return p
	}
	return filepath.Join(root, p)
}
