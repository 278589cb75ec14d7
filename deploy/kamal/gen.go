package kamal

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/secret"
)

// DefaultPackage is the package of the file Generate writes when
// GenerateOptions.Package is "": the deployment module's, as slipway
// init lays it out.
const DefaultPackage = "deployment"

// GenerateOptions says how Generate writes the App. Its zero value
// writes package deployment with the base App and one overlay per
// destination, its paths relative to the working directory.
type GenerateOptions struct {
	// Package is the generated file's package; "" means DefaultPackage.
	Package string
	// Dir is the directory the generated code's relative paths (the
	// secrets files, the build context) start from: the root of the
	// module the file goes in, where `mage deploy` runs and
	// secret.ProjectRoot finds its go.mod. "" means the working
	// directory.
	Dir string
	// Destination, when set, writes the App of that one destination
	// (Load(path, Destination)) as App, with no overlays.
	Destination string
}

// Generate reads the Kamal project at path as LoadAll does (with
// GenerateOptions.Destination, as Load does) and writes it to w as Go
// source a team can own instead of the YAML: a gofmt'd file
// declaring App, a deploy.App composite literal of the base config, and
// one overlay func per destination (config/deploy.<name>.yml) in
// App.Destinations, which assigns only what the destination changes, so
// that App.ForDestination(name) is the App Load(path, name) reads.
//
// App.Secrets reads Kamal's secrets files as Load's does, then the
// environment: with secret.File, the last file first, when the files
// hold plain values only, and otherwise with kamal.Secrets ($NAME
// references resolved, "$(command)" lines never run), as secret.File
// expands no reference and refuses a command. Kamal hook scripts
// become stub funcs whose comments say which hook each replaces and what
// it ran; they are left out of App.Hooks, as Load leaves the scripts
// out, until they are ported. A comment lists every key the Report
// lists, with its file, line and reason, and the environment variables
// the config's ERB read, whose values the file holds as they were.
//
// Generate returns the Report of the import. A project LoadAll (or Load)
// refuses is its error, and nothing is written; so is a value Go source
// cannot express (a func, an unexported type), naming its field.
func Generate(path string, w io.Writer, opts GenerateOptions) (*Report, error) {
	src, report, err := generate(path, opts)
	if err != nil {
		return report, err
	}
	if _, err := w.Write(src); err != nil {
		return report, fmt.Errorf("write the generated Go: %w", err)
	}
	return report, nil
}

// generate loads the project and renders it.
func generate(path string, opts GenerateOptions) ([]byte, *Report, error) {
	file, root, err := kamalConfigFile(path)
	if err != nil {
		return nil, nil, err
	}
	g := &goWriter{opts: opts, root: root, imports: map[string]bool{}}
	if g.dir, err = filepath.Abs(cmpOr(opts.Dir, ".")); err != nil {
		return nil, nil, fmt.Errorf("generate: %w", err)
	}
	var base deploy.App
	var report *Report
	dests := map[string]deploy.App{}
	if opts.Destination != "" {
		base, report, err = Load(path, opts.Destination)
	} else {
		// LoadAll validates each destination as it deploys; the Apps the
		// overlays must make are Load's, one destination at a time.
		base, report, err = LoadAll(path)
		if err == nil {
			for _, d := range report.Destinations {
				app, _, err := Load(path, d)
				if err != nil {
					return nil, report, fmt.Errorf("destination %s: %w", d, err)
				}
				dests[d] = app
			}
		}
	}
	if err != nil {
		return nil, report, err
	}
	g.report = report
	g.hooks = kamalHooks(file, root)
	out, err := g.file(base, dests)
	if err != nil {
		return nil, report, err
	}
	return out, report, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// kamalHook is one script of .kamal/hooks.
type kamalHook struct {
	name string // "pre-deploy"
	path string // as it is under the project root
	text string
}

// kamalHooks reads the project's hook scripts (not the .sample ones).
func kamalHooks(file, root string) []kamalHook {
	dir := filepath.Join(root, ".kamal", "hooks")
	if cfg, _, err := loadKamalFile(file, osLookupEnv); err == nil {
		if v := cfg.get("hooks_path"); v != nil && v.kind == yaml.ScalarNode && v.text != "" && !strings.Contains(v.text, "<%") {
			dir = v.text
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(root, dir)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var hooks []kamalHook
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".sample") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, _ := readCapped(p, MaxFileSize, "Kamal hook", "MaxFileSize")
		rel, err := filepath.Rel(root, p)
		if err != nil {
			rel = p
		}
		hooks = append(hooks, kamalHook{name: e.Name(), path: filepath.ToSlash(rel), text: string(b)})
	}
	return hooks
}

// slipwayHooks maps Kamal's hooks onto deploy.Hooks' fields.
var slipwayHooks = map[string]string{
	"pre-connect":   "PreConnect",
	"pre-deploy":    "PreDeploy",
	"post-deploy":   "PostDeploy",
	"pre-app-boot":  "PreAppBoot",
	"post-app-boot": "PostAppBoot",
}

// kamalHookWhen says when Kamal runs a hook, for the stub's comment.
var kamalHookWhen = map[string]string{
	"docker-setup":      "after it installed Docker on a host (kamal server bootstrap); Slipway's server:setup target does that step",
	"pre-connect":       "before it connected to the hosts",
	"pre-build":         "before it built the image; Slipway builds in the deploy, with no hook there: run it from your own Mage target before deploy",
	"pre-deploy":        "after the image was built and pushed, before any host booted it",
	"post-deploy":       "after every host runs the new release",
	"pre-app-boot":      "before the app's containers booted",
	"post-app-boot":     "after the app's containers booted",
	"pre-proxy-reboot":  "before it rebooted kamal-proxy; Slipway has no hook there: run it from your own Mage target before proxy:reboot",
	"post-proxy-reboot": "after it rebooted kamal-proxy; Slipway has no hook there: run it from your own Mage target after proxy:reboot",
}

// maxHookLines bounds how much of a hook script its stub quotes.
const maxHookLines = 40

// goWriter renders an App as Go source.
type goWriter struct {
	opts    GenerateOptions
	root    string // the Kamal project
	dir     string // where relative paths start, absolute
	report  *Report
	hooks   []kamalHook
	imports map[string]bool // import paths used
	aliased bool            // the aliasedSecrets helper is needed
	// server is what every server has but its host (Kamal's ssh
	// settings), when that is something: servers(hosts...) writes them.
	server     *deploy.Server
	serverUsed bool
}

// file renders the whole file.
func (g *goWriter) file(base deploy.App, dests map[string]deploy.App) ([]byte, error) {
	var body bytes.Buffer
	names := slices.Sorted(maps.Keys(dests))
	g.server = commonServer(append([]deploy.App{base}, slices.Collect(maps.Values(dests))...))

	lit, err := g.app(base, names)
	if err != nil {
		return nil, err
	}
	g.appDoc(&body)
	fmt.Fprintf(&body, "var App = %s\n\n", lit)

	for _, name := range names {
		fn, err := g.overlay(name, base, dests[name])
		if err != nil {
			return nil, fmt.Errorf("destination %s: %w", name, err)
		}
		body.WriteString(fn)
	}
	if g.serverUsed {
		fields, err := g.structFields("servers", reflect.ValueOf(*g.server))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&body, serversSource, "deploy.Server"+composite(append([]string{"Host: h"}, fields...)))
	}
	if g.aliased {
		g.imports["context"] = true
		body.WriteString(aliasedSecretsSource)
	}
	for _, h := range g.hooks {
		body.WriteString(g.hookStub(h))
	}

	var out bytes.Buffer
	pkg := cmpOr(g.opts.Package, DefaultPackage)
	out.WriteString(commentLines(fmt.Sprintf("Package %s describes how %s is deployed, as Go values. `slipway import-kamal` wrote it from %s; it is yours to edit.",
		pkg, cmpOr(base.Service, "the app"), strings.Join(g.relFiles(), ", "))))
	fmt.Fprintf(&out, "package %s\n\n", pkg)
	if len(g.imports) > 0 {
		out.WriteString("import (\n")
		var std, sdk []string
		for p := range g.imports {
			if strings.Contains(p, ".") {
				sdk = append(sdk, p)
			} else {
				std = append(std, p)
			}
		}
		slices.Sort(std)
		slices.Sort(sdk)
		for _, p := range std {
			fmt.Fprintf(&out, "\t%q\n", p)
		}
		if len(std) > 0 && len(sdk) > 0 {
			out.WriteString("\n")
		}
		for _, p := range sdk {
			fmt.Fprintf(&out, "\t%q\n", p)
		}
		out.WriteString(")\n\n")
	}
	out.Write(body.Bytes())
	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("generate: the Go written does not parse (a bug in kamal.Generate): %w\n%s", err, out.Bytes())
	}
	return src, nil
}

// relFiles names the config files read, from the project root.
func (g *goWriter) relFiles() []string {
	var files []string
	if g.report != nil {
		for _, f := range g.report.Files {
			files = append(files, g.projectRel(f))
		}
	}
	return files
}

// projectRel writes a file the report names relative to the project.
func (g *goWriter) projectRel(f string) string {
	abs, err := filepath.Abs(f)
	if err != nil {
		return f
	}
	rootAbs, err := filepath.Abs(g.root)
	if err != nil {
		return f
	}
	if rel, err := filepath.Rel(rootAbs, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return f
}

// appDoc writes App's comment: what it is, then every key the report
// lists and the secrets it reads.
func (g *goWriter) appDoc(b *bytes.Buffer) {
	b.WriteString("// App is the Kamal config as Slipway deploys it.")
	if g.opts.Destination != "" {
		fmt.Fprintf(b, " It is destination %s.", g.opts.Destination)
	}
	b.WriteString("\n")
	r := g.report
	if r == nil {
		return
	}
	if len(r.Unsupported) > 0 {
		b.WriteString("//\n// Not carried over from Kamal:\n//\n")
		for _, k := range r.Unsupported {
			fmt.Fprintf(b, "//   - kamal: %s (%s:%d): %s\n", k.Path, g.projectRel(k.File), k.Line, oneLine(k.Reason))
		}
	}
	if len(r.NotNeeded) > 0 {
		b.WriteString("//\n// Not needed in Slipway:\n//\n")
		for _, k := range r.NotNeeded {
			fmt.Fprintf(b, "//   - kamal: %s (%s:%d): %s\n", k.Path, g.projectRel(k.File), k.Line, oneLine(k.Reason))
		}
	}
	notes := r.Notes
	if len(notes) > 0 {
		b.WriteString("//\n// Notes of the import:\n//\n")
		for _, n := range notes {
			fmt.Fprintf(b, "//   - %s\n", oneLine(g.relNote(n)))
		}
	}
	if len(r.CommandSecrets) > 0 {
		b.WriteString("//\n" + commentLines(fmt.Sprintf("The secrets files set %s with commands, which Slipway never runs: export them, or put a secret.Command before secret.Env in Secrets.", strings.Join(r.CommandSecrets, ", "))))
	}
	if len(r.EnvRead) > 0 {
		b.WriteString("//\n" + commentLines(fmt.Sprintf("The config's ERB read %s from the environment when this file was written: the values it gave are written here as they were.", strings.Join(r.EnvRead, ", "))))
	}
	if len(r.EnvMissing) > 0 {
		b.WriteString(commentLines(fmt.Sprintf("%s were not set, so the values that hold them are empty.", strings.Join(r.EnvMissing, ", "))))
	}
	if len(r.EnvSecrets) > 0 {
		b.WriteString("//\n" + commentLines(fmt.Sprintf("No secrets file sets %s: they are read from the environment.", strings.Join(r.EnvSecrets, ", "))))
	}
}

// relNote writes the absolute paths a note may hold relative to the
// project, so that the generated file does not depend on where it was
// generated.
func (g *goWriter) relNote(n string) string {
	rootAbs, err := filepath.Abs(g.root)
	if err != nil {
		return n
	}
	n = strings.ReplaceAll(n, rootAbs+string(filepath.Separator), "")
	return strings.ReplaceAll(n, rootAbs, ".")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// commentLines wraps text into "// " lines of at most about 76 columns.
func commentLines(text string) string {
	var b, line strings.Builder
	for _, w := range strings.Fields(text) {
		if line.Len() > 0 && line.Len()+1+len(w) > 73 {
			b.WriteString("// " + line.String() + "\n")
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(w)
	}
	if line.Len() > 0 {
		b.WriteString("// " + line.String() + "\n")
	}
	return b.String()
}

// app renders the base App's literal.
func (g *goWriter) app(a deploy.App, dests []string) (string, error) {
	var fields []string
	v := reflect.ValueOf(a)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		fv := v.Field(i)
		switch f.Name {
		case "Destination", "Destinations":
			continue
		case "Hooks":
			if len(g.hooks) > 0 {
				fields = append(fields, g.hooksLine())
			}
			if !fv.IsZero() {
				return "", errors.New("App.Hooks: funcs cannot be written as Go source")
			}
			continue
		}
		if fv.IsZero() {
			continue
		}
		e, err := g.field("App", f, fv)
		if err != nil {
			return "", err
		}
		fields = append(fields, f.Name+": "+e+",")
	}
	if a.Destination != "" && g.opts.Destination != "" {
		fields = append(fields, fmt.Sprintf("Destination: %s,", strconv.Quote(a.Destination)))
	}
	if len(dests) > 0 {
		var entries []string
		for _, d := range dests {
			entries = append(entries, fmt.Sprintf("%s: %s,", strconv.Quote(d), overlayFunc(d)))
		}
		fields = append(fields, "Destinations: map[string]func(*deploy.App){\n"+strings.Join(entries, "\n")+"\n},")
	}
	g.use(reflect.TypeFor[deploy.App]())
	return "deploy.App{\n" + strings.Join(fields, "\n") + "\n}", nil
}

// hooksLine is the App.Hooks field, commented out until the stubs are
// ported.
func (g *goWriter) hooksLine() string {
	var set, none []string
	for _, h := range g.hooks {
		if f, ok := slipwayHooks[h.name]; ok {
			set = append(set, f+": "+hookFunc(h.name))
		} else {
			none = append(none, hookFunc(h.name))
		}
	}
	var b strings.Builder
	b.WriteString("// The Kamal hooks, once their stubs below do what the scripts did:\n")
	if len(set) > 0 {
		fmt.Fprintf(&b, "// Hooks: deploy.Hooks{%s},\n", strings.Join(set, ", "))
	}
	if len(none) > 0 {
		fmt.Fprintf(&b, "// (%s: no deploy hook runs there; call them from your own Mage targets)\n", strings.Join(none, ", "))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// hookFunc names a hook's stub: pre-deploy -> preDeploy.
func hookFunc(name string) string {
	return goIdent(name, "Hook")
}

// overlayFunc names a destination's overlay: staging -> staging.
func overlayFunc(d string) string { return goIdent(d, "Destination") }

// goIdent makes a lower camel-case Go name of s ("pre-deploy" ->
// "preDeploy"), adding suffix when that is not a usable name.
func goIdent(s, suffix string) string {
	var b strings.Builder
	up := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if up && b.Len() > 0 {
				r = unicode.ToUpper(r)
			} else if b.Len() == 0 {
				r = unicode.ToLower(r)
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	id := b.String()
	if id == "" || !unicode.IsLetter([]rune(id)[0]) || token.IsKeyword(id) || predeclared[id] {
		id = strings.ToLower(suffix[:1]) + suffix[1:] + strings.ToUpper(id[:min(1, len(id))]) + id[min(1, len(id)):]
	}
	return id
}

// predeclared are names a generated identifier must not shadow.
var predeclared = map[string]bool{
	"a": true, "App": true, "append": true, "bool": true, "cap": true, "close": true, "copy": true, "delete": true,
	"error": true, "false": true, "float64": true, "int": true, "len": true, "make": true, "max": true, "min": true,
	"new": true, "nil": true, "panic": true, "print": true, "string": true, "true": true, "deploy": true, "image": true,
	"health": true, "secret": true, "kamal": true, "time": true, "context": true, "replicate": true, "proxy": true,
	"ssh": true, "aliasedSecrets": true, "servers": true,
}

// field renders a field's value, with the App's conventions: servers
// with only a host as deploy.Hosts, the secrets source, the builder's
// paths relative to Dir.
func (g *goWriter) field(path string, f reflect.StructField, v reflect.Value) (string, error) {
	switch {
	case f.Name == "Secrets" && f.Type == reflect.TypeFor[secret.Source]():
		return g.secrets(path+".Secrets", v.Interface().(secret.Source))
	case f.Name == "Build" && f.Type == reflect.TypeFor[image.Builder]():
		return g.value(path+".Build", reflect.ValueOf(g.relBuilder(v.Interface().(image.Builder))), false)
	case f.Name == "Memory" && v.Kind() == reflect.Int64:
		return memoryExpr(v.Int()), nil
	case f.Name == "Image" && v.Kind() == reflect.String && v.String() == deploy.DefaultProxyImage && path != "App" && !strings.Contains(path, "Accessories"):
		g.imports["github.com/slipwayhq/slipway/deploy"] = true
		return "deploy.DefaultProxyImage", nil
	}
	return g.value(path+"."+f.Name, v, false)
}

// relBuilder writes a builder's directories relative to Dir.
func (g *goWriter) relBuilder(b image.Builder) image.Builder {
	switch d := b.(type) {
	case image.Dockerfile:
		d.Context = g.rel(d.Context)
		return d
	case *image.Dockerfile:
		c := *d
		c.Context = g.rel(c.Context)
		return &c
	case image.Go:
		d.Dir = g.rel(d.Dir)
		return d
	case *image.Go:
		c := *d
		c.Dir = g.rel(c.Dir)
		return &c
	}
	return b
}

// rel writes a path of the import (absolute, or relative to the
// working directory as the path given to Load) relative to Dir.
func (g *goWriter) rel(p string) string {
	if p == "" {
		return p
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(g.dir, abs); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// secrets renders the App's secret source: Load's chain of Kamal's
// secrets files and the environment, with its aliases.
func (g *goWriter) secrets(path string, src secret.Source) (string, error) {
	var aliases map[string]string
	if a, ok := src.(aliasedSecrets); ok {
		src, aliases = a.src, a.aliases
	}
	e, err := g.source(path, src)
	if err != nil {
		return "", err
	}
	if len(aliases) == 0 {
		return e, nil
	}
	g.aliased = true
	m, err := g.value(path, reflect.ValueOf(aliases), false)
	if err != nil {
		return "", err
	}
	return "aliasedSecrets(" + e + ", " + m + ")", nil
}

// source renders one secret source.
func (g *goWriter) source(path string, src secret.Source) (string, error) {
	switch s := src.(type) {
	case Secrets:
		files := make([]string, len(s.Files))
		for i, f := range s.Files {
			files[i] = g.rel(f)
		}
		g.imports["github.com/slipwayhq/slipway/deploy/kamal"] = true
		list, err := g.value(path, reflect.ValueOf(files), false)
		if err != nil {
			return "", err
		}
		return "kamal.Secrets{Files: " + list + "}", nil
	case secret.Chain:
		var parts []string
		for i, c := range s {
			if ks, ok := c.(Secrets); ok && plainDotenv(ks.Files) {
				// The files hold plain values only: secret.File reads
				// them as kamal.Secrets does, the last file first.
				g.imports["github.com/slipwayhq/slipway/secret"] = true
				for _, f := range slices.Backward(ks.Files) {
					parts = append(parts, "secret.File{Path: "+strconv.Quote(g.rel(f))+"}")
				}
				continue
			}
			e, err := g.source(fmt.Sprintf("%s[%d]", path, i), c)
			if err != nil {
				return "", err
			}
			parts = append(parts, e)
		}
		g.imports["github.com/slipwayhq/slipway/secret"] = true
		return "secret.Chain{" + strings.Join(parts, ", ") + "}", nil
	case nil:
		return "nil", nil
	}
	return g.value(path, reflect.ValueOf(src), false)
}

// plainDotenv reports whether Kamal's secrets files read the same with
// secret.File: each one that exists parses as dotenv, and no value
// outside single quotes holds a "$" (a reference kamal.Secrets resolves,
// or a command it does not run, which secret.File refuses) or a
// backquote. Files that do not exist read the same either way, as
// missing, but one must exist: with none, what the team writes later is
// read as Kamal reads it.
func plainDotenv(files []string) bool {
	read := false
	for _, f := range files {
		data, err := readCapped(f, MaxFileSize, "Kamal secrets file", "MaxFileSize")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		read = true
		if err != nil {
			return false
		}
		entries, err := secret.ParseDotenv(string(data))
		if err != nil {
			return false
		}
		for _, e := range entries {
			if e.Quote != '\'' && (strings.ContainsAny(e.Raw, "$`") || e.Command()) {
				return false
			}
		}
	}
	return read
}

// aliasedSecretsSource is the helper a config with NAME:ALIAS secrets
// gets: Load's aliases, written with the secret package's own Func.
const aliasedSecretsSource = `
// aliasedSecrets gives the container env NAME the value of the secret
// ALIAS, as Kamal's env.secret "NAME:ALIAS" did; other names are looked
// up as they are.
func aliasedSecrets(src secret.Source, aliases map[string]string) secret.Source {
	return secret.Func(func(ctx context.Context, name string) (string, error) {
		if alias, ok := aliases[name]; ok {
			return src.Secret(ctx, alias)
		}
		return src.Secret(ctx, name)
	})
}
`

// hookStub renders a Kamal hook as a stub func.
func (g *goWriter) hookStub(h kamalHook) string {
	g.imports["context"] = true
	g.imports["github.com/slipwayhq/slipway/deploy"] = true
	var b strings.Builder
	name := hookFunc(h.name)
	when := kamalHookWhen[h.name]
	if when == "" {
		when = "(it is not a hook name Kamal knows, so Kamal never ran it)"
	}
	doc := fmt.Sprintf("%s replaces the Kamal hook %s, which Kamal ran on this machine %s.", name, h.path, when)
	if f, ok := slipwayHooks[h.name]; ok {
		doc += fmt.Sprintf(" It is App.Hooks.%s once ported: Kamal's KAMAL_SERVICE, KAMAL_DESTINATION, KAMAL_VERSION, KAMAL_PERFORMER and KAMAL_HOSTS are h.Service, h.Destination, h.Version, h.Performer and h.Hosts.", f)
	}
	b.WriteString("\n" + commentLines(doc))
	if text := strings.TrimRight(h.text, "\n"); text != "" && utf8.ValidString(text) {
		lines := strings.Split(text, "\n")
		b.WriteString("//\n// The script was:\n//\n")
		for i, l := range lines {
			if i == maxHookLines {
				fmt.Fprintf(&b, "//\t... (%d more lines in %s)\n", len(lines)-maxHookLines, h.path)
				break
			}
			fmt.Fprintf(&b, "//\t%s\n", strings.ReplaceAll(l, "\r", ""))
		}
	}
	fmt.Fprintf(&b, "func %s(ctx context.Context, h deploy.HookContext) error {\n\treturn nil // TODO: port %s\n}\n", name, h.path)
	return b.String()
}

// overlay renders a destination's overlay func: the assignments that
// make the base App the destination's.
func (g *goWriter) overlay(name string, base, dest deploy.App) (string, error) {
	base.Destination, dest.Destination = "", ""
	base.Destinations, dest.Destinations = nil, nil
	d := &differ{g: g, names: map[string]bool{"a": true}}
	if err := d.structFields("a", "App", reflect.ValueOf(base), reflect.ValueOf(dest)); err != nil {
		return "", err
	}
	var b strings.Builder
	fn := overlayFunc(name)
	fmt.Fprintf(&b, "// %s makes App destination %s (config/deploy.%s.yml).\n", fn, name, name)
	fmt.Fprintf(&b, "func %s(a *deploy.App) {\n", fn)
	if len(d.lines) == 0 {
		b.WriteString("\t// The destination changes nothing but App.Destination.\n")
	}
	for _, l := range d.lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("}\n\n")
	return b.String(), nil
}

// differ writes the statements that turn one value into another.
type differ struct {
	g     *goWriter
	lines []string
	names map[string]bool // local variables declared
}

// same compares two values as the generated code would write them. It
// renders them with a scratch writer, so that what is compared and not
// written adds no import or helper.
func (d *differ) same(path string, f reflect.StructField, x, y reflect.Value) (bool, error) {
	scratch := d.g.scratch()
	ex, err := scratch.fieldExpr(path, f, x)
	if err != nil {
		return false, err
	}
	ey, err := scratch.fieldExpr(path, f, y)
	return ex == ey, err
}

// scratch returns a copy of g that records nothing in g.
func (g *goWriter) scratch() *goWriter {
	c := *g
	c.imports = map[string]bool{}
	return &c
}

// fieldExpr renders a field's value for an assignment, zero included.
func (g *goWriter) fieldExpr(path string, f reflect.StructField, v reflect.Value) (string, error) {
	if v.IsZero() {
		return zeroExpr(v.Type(), g), nil
	}
	return g.field(path, f, v)
}

// structFields diffs the fields of two structs at the addressable expr.
func (d *differ) structFields(expr, path string, x, y reflect.Value) error {
	t := x.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Name == "Hooks" && t == reflect.TypeFor[deploy.App]() {
			continue
		}
		if err := d.fieldDiff(expr+"."+f.Name, path, f, x.Field(i), y.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

// fieldDiff diffs one field, going into structs, pointers to structs and
// maps, and assigning whatever else differs as a whole.
func (d *differ) fieldDiff(expr, path string, f reflect.StructField, x, y reflect.Value) error {
	same, err := d.same(path, f, x, y)
	if err != nil || same {
		return err
	}
	switch {
	case x.Kind() == reflect.Struct && isPlainStruct(x.Type()):
		return d.structFields(expr, path+"."+f.Name, x, y)
	case x.Kind() == reflect.Pointer && !x.IsNil() && !y.IsNil() && x.Elem().Kind() == reflect.Struct && isPlainStruct(x.Elem().Type()):
		return d.structFields(expr, path+"."+f.Name, x.Elem(), y.Elem())
	case x.Kind() == reflect.Map && !x.IsNil() && !y.IsNil() && x.Type().Key().Kind() == reflect.String:
		return d.mapDiff(expr, path+"."+f.Name, x, y)
	}
	ey, err := d.g.fieldExpr(path, f, y)
	if err != nil {
		return err
	}
	d.lines = append(d.lines, expr+" = "+ey)
	return nil
}

// isPlainStruct is a struct the diff may go into field by field: one of
// the SDK's with no unexported fields.
func isPlainStruct(t reflect.Type) bool {
	if !strings.HasPrefix(t.PkgPath(), "github.com/slipwayhq/slipway/") {
		return false
	}
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			return false
		}
	}
	return true
}

// mapDiff diffs two maps with string keys: deleted keys, new ones, and
// changed entries (a struct entry through a local variable).
func (d *differ) mapDiff(expr, path string, x, y reflect.Value) error {
	keys := map[string]bool{}
	for _, k := range x.MapKeys() {
		keys[k.String()] = true
	}
	for _, k := range y.MapKeys() {
		keys[k.String()] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		kv := reflect.ValueOf(k).Convert(x.Type().Key())
		xv, yv := x.MapIndex(kv), y.MapIndex(kv)
		key := expr + "[" + strconv.Quote(k) + "]"
		p := path + "[" + strconv.Quote(k) + "]"
		switch {
		case !yv.IsValid():
			d.lines = append(d.lines, fmt.Sprintf("delete(%s, %s)", expr, strconv.Quote(k)))
		case !xv.IsValid():
			e, err := d.g.value(p, yv, false)
			if err != nil {
				return err
			}
			d.lines = append(d.lines, key+" = "+e)
		default:
			scratch := d.g.scratch()
			ex, err := scratch.value(p, xv, false)
			if err != nil {
				return err
			}
			ey, err := scratch.value(p, yv, false)
			if err != nil {
				return err
			}
			if ex == ey {
				continue
			}
			if xv.Kind() == reflect.Struct && isPlainStruct(xv.Type()) {
				local := d.local(k, xv.Type().Name())
				d.lines = append(d.lines, fmt.Sprintf("%s := %s", local, key))
				cx, cy := reflect.New(xv.Type()).Elem(), reflect.New(yv.Type()).Elem()
				cx.Set(xv)
				cy.Set(yv)
				if err := d.structFields(local, p, cx, cy); err != nil {
					return err
				}
				d.lines = append(d.lines, key+" = "+local)
				continue
			}
			if ey, err = d.g.value(p, yv, false); err != nil {
				return err
			}
			d.lines = append(d.lines, key+" = "+ey)
		}
	}
	return nil
}

// local names a local variable after a map key, once per func.
func (d *differ) local(key, kind string) string {
	name := goIdent(key, kind)
	if d.names[name] {
		name += kind
	}
	for n := 2; d.names[name]; n++ {
		name = goIdent(key, kind) + strconv.Itoa(n)
	}
	d.names[name] = true
	return name
}

// zeroExpr writes the zero value of t for an assignment.
func zeroExpr(t reflect.Type, g *goWriter) string {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func:
		return "nil"
	case reflect.String:
		return `""`
	case reflect.Bool:
		return "false"
	case reflect.Struct:
		return g.typeExpr(t) + "{}"
	}
	return "0"
}

// value renders v as a Go expression; elide drops the type of a
// composite literal where Go infers it (an element of a slice or map).
func (g *goWriter) value(path string, v reflect.Value, elide bool) (string, error) {
	t := v.Type()
	if t == reflect.TypeFor[time.Duration]() {
		g.imports["time"] = true
		return durationExpr(time.Duration(v.Int())), nil
	}
	switch v.Kind() {
	case reflect.String:
		return stringExpr(v.String()), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), nil
	case reflect.Pointer:
		if v.IsNil() {
			return "nil", nil
		}
		if v.Elem().Kind() == reflect.Bool && t.Elem() == reflect.TypeFor[bool]() {
			// The SDK's *bool fields mean a default when nil.
			g.imports["github.com/slipwayhq/slipway/deploy"] = true
			return "deploy.Bool(" + strconv.FormatBool(v.Elem().Bool()) + ")", nil
		}
		if v.Elem().Kind() != reflect.Struct {
			return "", fmt.Errorf("%s: a pointer to %s cannot be written as Go source", path, v.Elem().Type())
		}
		e, err := g.structLit(path, v.Elem(), elide)
		if err != nil {
			return "", err
		}
		if elide {
			return e, nil
		}
		return "&" + e, nil
	case reflect.Interface:
		if v.IsNil() {
			return "nil", nil
		}
		return g.value(path, v.Elem(), false)
	case reflect.Struct:
		return g.structLit(path, v, elide)
	case reflect.Slice:
		if v.IsNil() {
			return "nil", nil
		}
		if t == reflect.TypeFor[[]deploy.Server]() && v.Len() > 0 {
			list := v.Interface().([]deploy.Server)
			var hosts []string
			for _, s := range list {
				hosts = append(hosts, strconv.Quote(s.Host))
			}
			switch {
			case hostsLike(list, deploy.Server{}):
				g.imports["github.com/slipwayhq/slipway/deploy"] = true
				return "deploy.Hosts(" + strings.Join(hosts, ", ") + ")", nil
			case g.server != nil && hostsLike(list, *g.server):
				g.serverUsed = true
				return "servers(" + strings.Join(hosts, ", ") + ")", nil
			}
		}
		var items []string
		for i := range v.Len() {
			e, err := g.value(fmt.Sprintf("%s[%d]", path, i), v.Index(i), true)
			if err != nil {
				return "", err
			}
			items = append(items, e)
		}
		return g.typeExpr(t) + composite(items), nil
	case reflect.Map:
		if v.IsNil() {
			return "nil", nil
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
		var items []string
		for _, k := range keys {
			ke, err := g.value(path, k, true)
			if err != nil {
				return "", err
			}
			ve, err := g.value(fmt.Sprintf("%s[%s]", path, ke), v.MapIndex(k), true)
			if err != nil {
				return "", err
			}
			items = append(items, ke+": "+ve)
		}
		return g.typeExpr(t) + composite(items), nil
	}
	return "", fmt.Errorf("%s: a %s cannot be written as Go source", path, t)
}

// hostsLike reports whether every server is like but for its host.
func hostsLike(servers []deploy.Server, like deploy.Server) bool {
	for _, s := range servers {
		like.Host = s.Host
		if !reflect.DeepEqual(s, like) {
			return false
		}
	}
	return true
}

// commonServer returns what every server of the Apps (roles' and
// accessories') has but its host, when they all have the same and it is
// not nothing: Kamal's ssh settings, which apply to every host.
func commonServer(apps []deploy.App) *deploy.Server {
	var common *deploy.Server
	for _, a := range apps {
		var all []deploy.Server
		for _, r := range a.Roles {
			all = append(all, r.Servers...)
		}
		for _, acc := range a.Accessories {
			all = append(all, acc.Servers...)
		}
		for _, s := range all {
			s.Host = ""
			switch {
			case common == nil:
				c := s
				common = &c
			case !reflect.DeepEqual(*common, s):
				return nil
			}
		}
	}
	if common == nil || reflect.DeepEqual(*common, deploy.Server{}) {
		return nil
	}
	return common
}

// serversSource is the helper that gives hosts the config's ssh settings.
const serversSource = `
// servers are hosts with the ssh settings of the Kamal config (ssh.user,
// ssh.port, ssh.proxy, ssh.keys), which apply to every host.
func servers(hosts ...string) []deploy.Server {
	s := make([]deploy.Server, len(hosts))
	for i, h := range hosts {
		s[i] = %s
	}
	return s
}
`

// structLit renders a struct literal with its non-zero fields.
func (g *goWriter) structLit(path string, v reflect.Value, elide bool) (string, error) {
	fields, err := g.structFields(path, v)
	if err != nil {
		return "", err
	}
	name := ""
	if !elide {
		name = g.typeExpr(v.Type())
	}
	return name + composite(fields), nil
}

// structFields renders a struct's non-zero fields, "Name: value".
func (g *goWriter) structFields(path string, v reflect.Value) ([]string, error) {
	t := v.Type()
	var fields []string
	for i := range t.NumField() {
		f := t.Field(i)
		fv := v.Field(i)
		if fv.IsZero() {
			continue
		}
		if !f.IsExported() {
			return nil, fmt.Errorf("%s: %s has an unexported field %s set, which Go source outside its package cannot write", path, t, f.Name)
		}
		if fv.Kind() == reflect.Func {
			return nil, fmt.Errorf("%s.%s: a func cannot be written as Go source", path, f.Name)
		}
		e, err := g.field(path, f, fv)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f.Name+": "+e)
	}
	return fields, nil
}

// composite writes {a, b} on one line when short, else one item a line.
func composite(items []string) string {
	one := "{" + strings.Join(items, ", ") + "}"
	if len(one) <= 72 && !strings.Contains(one, "\n") {
		return one
	}
	return "{\n" + strings.Join(items, ",\n") + ",\n}"
}

// typeExpr writes a type as Go source, and records its imports.
func (g *goWriter) typeExpr(t reflect.Type) string {
	g.use(t)
	return t.String()
}

// use records the packages a type names.
func (g *goWriter) use(t reflect.Type) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		if t.Name() == "" {
			g.use(t.Elem())
			return
		}
	case reflect.Map:
		if t.Name() == "" {
			g.use(t.Key())
			g.use(t.Elem())
			return
		}
	}
	if p := t.PkgPath(); p != "" && t.Name() != "" {
		g.imports[p] = true
	}
}

// durationExpr writes d in the largest unit that divides it:
// 30 * time.Second, time.Minute, 1500 * time.Millisecond.
func durationExpr(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "time.Hour"}, {time.Minute, "time.Minute"}, {time.Second, "time.Second"},
		{time.Millisecond, "time.Millisecond"}, {time.Microsecond, "time.Microsecond"}} {
		if d%u.d == 0 {
			if d == u.d {
				return u.name
			}
			return strconv.FormatInt(int64(d/u.d), 10) + " * " + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + " * time.Nanosecond"
}

// memoryExpr writes a byte count in binary units: 512 << 20.
func memoryExpr(n int64) string {
	for _, s := range []int{40, 30, 20, 10} {
		if n != 0 && n%(1<<s) == 0 {
			return strconv.FormatInt(n>>s, 10) + " << " + strconv.Itoa(s)
		}
	}
	return strconv.FormatInt(n, 10)
}

// stringExpr quotes s, as a raw string when it spans lines.
func stringExpr(s string) string {
	if strings.Contains(s, "\n") && !strings.ContainsAny(s, "`\r") && utf8.ValidString(s) && strconv.CanBackquote(strings.ReplaceAll(s, "\n", "")) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}
