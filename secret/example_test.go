package secret_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/slipwayhq/slipway/secret"
)

// Resolve asks a source for every name an app needs, once each; a
// Chain lets the environment (CI) win over a file kept out of git.
func ExampleResolve() {
	dir, _ := os.MkdirTemp("", "secret-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "secrets")
	_ = os.WriteFile(path, []byte("SECRET_KEY_BASE=s3cr3t-base\n"), 0o600)

	src := secret.Chain{secret.Env{}, secret.File{Path: path}}
	values, err := secret.Resolve(context.Background(), src, []string{"SECRET_KEY_BASE"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(values) // names only

	_, err = secret.Resolve(context.Background(), src, []string{"SECRET_KEY_BASE", "SLIPWAY_EXAMPLE_MISSING"})
	if missing, ok := errors.AsType[*secret.MissingListError](err); ok {
		fmt.Println("missing:", missing.Names)
	}
	fmt.Println(errors.Is(err, secret.ErrMissing))
	// Output:
	// secrets[SECRET_KEY_BASE]
	// missing: [SLIPWAY_EXAMPLE_MISSING]
	// true
}

// Values hide every value they hold in text, in quoted forms too, and in
// what passes through their Writer, however it is split into writes.
func ExampleValues() {
	values := secret.Values{"DB_PASSWORD": "hunter2-pw"}
	fmt.Println(values.Redact(`connect: password "hunter2-pw" rejected`))

	w := values.Writer(os.Stdout)
	fmt.Fprint(w, "dsn=postgres://app:hunt")
	fmt.Fprint(w, "er2-pw@db\n")
	w.Close()

	err := values.RedactError(errors.New("login failed for hunter2-pw"))
	fmt.Println(err)
	// Output:
	// connect: password "[redacted]" rejected
	// dsn=postgres://app:[redacted]@db
	// login failed for [redacted]
}

// Command runs a password manager's CLI for each secret; "{name}" is
// the secret's name. A program that fails means the secret is missing,
// so a Chain goes on to the next source.
func ExampleCommand() {
	src := secret.Chain{
		secret.Command{Args: []string{"sh", "-c", `test "$1" = TOKEN && echo t0ken-value`, "sh", "{name}"}},
		secret.Env{},
	}
	v, err := src.Secret(context.Background(), "TOKEN")
	fmt.Println(len(v), err)
	_, err = src.Secret(context.Background(), "SLIPWAY_EXAMPLE_OTHER")
	fmt.Println(err)
	// Output:
	// 11 <nil>
	// secret SLIPWAY_EXAMPLE_OTHER missing: sh -c 'test "$1" = TOKEN && echo t0ken-value' sh SLIPWAY_EXAMPLE_OTHER exited with status 1; not set in the environment
}

// ParseDotenv is the one dotenv parser: File reads its values, and
// deploy/kamal reads .kamal/secrets with it, telling commands apart.
func ExampleParseDotenv() {
	entries, err := secret.ParseDotenv("# a comment\nexport A=one # trailing\nB='two $X'\nC=\"multi\nline\"\nD=$(op read op://vault/d)\n")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range entries {
		fmt.Printf("%s line %d quote %q command %t: %q\n", e.Name, e.Line, e.Quote, e.Command(), e.Value)
	}
	_, err = secret.ParseDotenv("OK=1\nnot-a-line hunter2\n")
	fmt.Println(err) // names the line, never its content
	// Output:
	// A line 2 quote '\x00' command false: "one"
	// B line 3 quote '\'' command false: "two $X"
	// C line 4 quote '"' command false: "multi\nline"
	// D line 6 quote '\x00' command true: "$(op read op://vault/d)"
	// line 2: expected NAME=value
}

// A relative File path resolves against the project root, the nearest
// directory with a go.mod above the working directory: a test running in
// a package directory reads the file `mage deploy` reads at the root.
func ExampleProjectPath() {
	root, _ := os.MkdirTemp("", "project")
	defer os.RemoveAll(root)
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/app\n"), 0o644)
	pkg := filepath.Join(root, "internal", "store")
	os.MkdirAll(pkg, 0o755)

	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(pkg) // as go test does for a package's tests

	found, _ := secret.ProjectRoot()
	rel, _ := filepath.Rel(found, secret.ProjectPath(secret.DefaultFile))
	same, _ := filepath.EvalSymlinks(found)
	want, _ := filepath.EvalSymlinks(root)
	fmt.Println(same == want, rel)
	// Output:
	// true .slipway/secrets
}
