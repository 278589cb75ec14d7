// Package secret finds secret values and keeps them out of output.
//
// In this package, and in every identifier it exports, a "secret" is one
// named value, such as SECRET_KEY_BASE, that a container or a credential
// needs and that no person, log or error may read. The package has three
// kinds of thing:
//
//   - a Source looks up a secret's value by its name: Env (the process
//     environment), File (a dotenv file kept out of git), Command (a
//     password manager's CLI), Chain (the first of several that has
//     it), and Func (a function, such as a vault client's lookup);
//   - Values are secret values already resolved, by name; they Redact
//     text, wrap a Writer that redacts what passes through it, and
//     RedactError hides them in errors;
//   - ErrMissing is what every Source's error wraps when it does not have
//     a name; *MissingError says where one name was looked for, and
//     *MissingListError, which Resolve returns, lists every name that is
//     missing.
//
// The names of the secrets an app needs are not kept here: deploy.Env
// lists them in its Secret field, and deploy.ResolveSecrets asks the
// app's Source for each.
//
// The package uses the standard library only, so that deploy, replicate
// and an app's own tools share it without pulling in anything else.
//
// # Example
//
// Read .slipway/secrets, then the environment, and redact what was found:
//
//	src := secret.Chain{secret.File{}, secret.Env{}}
//	values, err := secret.Resolve(ctx, src, []string{"SECRET_KEY_BASE"})
//	if err != nil {
//		return err // names the missing secrets, never a value
//	}
//	log := values.Writer(os.Stderr) // every value becomes "[redacted]"
//	defer log.Close()
//
// # Relative paths
//
// A relative File path resolves against the project root, not the working
// directory: the nearest directory holding a go.mod, found by walking up
// from the working directory (ProjectRoot; the working directory when no
// go.mod is above it). In a repo whose magefile lives beside its go.mod,
// `mage deploy` run at the root and a test run in any package directory
// of that module read the same .slipway/secrets.
//
// # Dotenv files
//
// File, and deploy/kamal for Kamal's .kamal/secrets, read dotenv text with
// the one parser here, ParseDotenv; see File for the syntax.
package secret
