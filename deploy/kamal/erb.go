package kamal

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kamal renders its config files with Ruby's ERB before it reads the
// YAML. Slipway runs no Ruby: it evaluates the few idioms configs use to
// read the environment, and makes anything else safe to parse, so that a
// config never fails to import for its ERB.

// LookupEnv reads an environment variable, as os.LookupEnv does. Load
// reads ERB's ENV through os.LookupEnv; LoadWith takes another (a map in
// a test, say).
type LookupEnv func(name string) (string, bool)

// erbMarker stands in for the output of an ERB expression Slipway does
// not evaluate: plain letters, digits and underscores, so that it parses
// as YAML wherever the output stood (a value, a key, inside quotes), and
// the key that holds it is then found and reported.
const erbMarker = "slipway_erb_output_"

// erbMarkerRe finds a marker and the number of the expression it stands for.
var erbMarkerRe = regexp.MustCompile(erbMarker + `(\d+)_`)

// erbExpr is one ERB expression Slipway did not evaluate.
type erbExpr struct {
	line int
	code string // the Ruby code; never printed, as it may hold a secret
}

// erbBlock is an ERB conditional or loop, which Slipway does not run.
type erbBlock struct {
	line int
	word string // the keyword that opens it: if, unless, case, begin, ...; "" for a block call
	kind string
}

// erbResult is what rendering one file learnt: names only, never values.
type erbResult struct {
	read       []string   // ENV names read, in order, repeated as read
	missing    []string   // names read with no value and no default
	statements []int      // lines of <% %> statements, dropped
	blocks     []erbBlock // conditionals and loops, imported as their first branch or body
	emptied    []int      // lines where an unset variable output nothing
	whole      bool       // the whole file is output Slipway did not evaluate
	exprs      []erbExpr  // <%= %> output not evaluated, by marker number
}

// The idioms evaluated, each a whole <%= %> expression:
//
//	ENV["X"]   ENV['X']   ENV.fetch("X")   ENV.fetch("X", "default")
//	ENV.fetch("X") { "default" }   ENV["X"] || "default"
var (
	erbNameRe    = `["']([A-Za-z_][A-Za-z0-9_]*)["']`
	erbDefaultRe = `(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')`
	erbIndexRe   = regexp.MustCompile(`^ENV\[\s*` + erbNameRe + `\s*\](?:\s*\|\|\s*` + erbDefaultRe + `)?$`)
	erbFetchRe   = regexp.MustCompile(`^ENV\.fetch\(\s*` + erbNameRe + `\s*(?:,\s*` + erbDefaultRe + `\s*)?\)(?:\s*\{\s*` + erbDefaultRe + `\s*\})?$`)
)

// renderERB evaluates the ERB of a config file's text. Every line stays
// where it was, so that YAML errors and reported keys keep their line
// numbers. Statements (<% %>) run nothing: a conditional keeps its first
// branch and a loop its body once, and each is recorded.
func renderERB(text string, lookup LookupEnv) (string, erbResult) {
	var res erbResult
	if !strings.Contains(text, "<%") {
		return text, res
	}
	var b strings.Builder
	// blocks holds, for each open if/unless/case/loop, whether the text
	// is being skipped (a later branch).
	var blocks []bool
	skipping := func() bool { return slices.Contains(blocks, true) }
	write := func(s string) {
		if skipping() {
			s = strings.Repeat("\n", strings.Count(s, "\n"))
		}
		b.WriteString(s)
	}
	line := 1
	for {
		start := strings.Index(text, "<%")
		if start < 0 {
			write(text)
			break
		}
		before := text[:start]
		write(before)
		line += strings.Count(before, "\n")
		if strings.HasPrefix(text[start:], "<%%") { // a literal "<%"
			write("<%")
			text = text[start+3:]
			continue
		}
		end := strings.Index(text[start:], "%>")
		if end < 0 { // unclosed: Ruby fails too; leave it to the YAML parser
			write(text[start:])
			break
		}
		tag := strings.TrimSuffix(text[start+2:start+end], "-")
		text = text[start+end+2:]
		switch {
		case strings.HasPrefix(tag, "#"): // a comment
		case strings.HasPrefix(tag, "="):
			if skipping() {
				break
			}
			code := strings.TrimSpace(tag[1:])
			if v, ok := evalERB(code, lookup, &res); ok {
				if v == "" {
					res.emptied = append(res.emptied, line)
				}
				b.WriteString(v)
			} else {
				res.exprs = append(res.exprs, erbExpr{line: line, code: code})
				fmt.Fprintf(&b, "%s%d_", erbMarker, len(res.exprs)-1)
			}
		default: // a statement: Ruby that runs and outputs nothing
			code := strings.TrimSpace(tag)
			word, _, _ := strings.Cut(code, " ")
			word = strings.TrimRight(word, ";")
			switch {
			case erbOpensRe.MatchString(code) && !erbClosesRe.MatchString(code):
				blocks = append(blocks, false)
				kind := "a loop: its body is imported once"
				if !erbKeywordRe.MatchString(word) {
					word = "do"
				}
				switch word {
				case "if", "unless", "case":
					kind = "a conditional: its first branch is imported and the others left out"
				case "begin":
					kind = "a begin block: its body is imported and its rescue left out"
				}
				res.blocks = append(res.blocks, erbBlock{line: line, word: word, kind: kind})
			case word == "else" || word == "elsif" || word == "when" || word == "rescue" || word == "ensure":
				if len(blocks) > 0 {
					blocks[len(blocks)-1] = true
				}
			case word == "end" || word == "}":
				if len(blocks) > 0 {
					blocks = blocks[:len(blocks)-1]
				}
			default:
				res.statements = append(res.statements, line)
			}
		}
		// Keep the tag's own lines, so that lines after it keep their
		// numbers.
		n := strings.Count(tag, "\n")
		b.WriteString(strings.Repeat("\n", n))
		line += n
	}
	return b.String(), res
}

// erbKeywordRe is a keyword that opens a block.
var erbKeywordRe = regexp.MustCompile(`^(if|unless|case|while|until|for|begin)$`)

// erbOpensRe finds a statement that opens a block: a conditional or a
// loop; erbClosesRe one that closes it on the same line too.
var (
	erbOpensRe  = regexp.MustCompile(`^(if|unless|case|while|until|for|begin)\b|\bdo(\s*\|[^|]*\|)?$|\{(\s*\|[^|]*\|)?$`)
	erbClosesRe = regexp.MustCompile(`\bend$|\}$`)
)

// evalERB evaluates one of the ENV idioms, recording the name read. As
// in Ruby, ENV["X"] is "" when X is unset, and a default is taken only
// when X is unset.
func evalERB(code string, lookup LookupEnv, res *erbResult) (string, bool) {
	var name, def string
	hasDef := false
	if m := erbIndexRe.FindStringSubmatch(code); m != nil {
		name = m[1]
		def, hasDef = unquoteRuby(m[2], m[3]), strings.Contains(code, "||")
	} else if m := erbFetchRe.FindStringSubmatch(code); m != nil {
		name = m[1]
		switch {
		case strings.Contains(code, ","):
			def, hasDef = unquoteRuby(m[2], m[3]), true
		case strings.Contains(code, "{"):
			def, hasDef = unquoteRuby(m[4], m[5]), true
		}
	} else {
		return "", false
	}
	res.read = append(res.read, name)
	if v, ok := lookup(name); ok {
		return v, true
	}
	if hasDef {
		return def, true
	}
	res.missing = append(res.missing, name)
	return "", true
}

// unquoteRuby reads a Ruby string literal's body, double-quoted (dq) or
// single-quoted (sq).
func unquoteRuby(dq, sq string) string {
	if sq != "" {
		return strings.NewReplacer(`\\`, `\`, `\'`, `'`).Replace(sq)
	}
	if s, err := strconv.Unquote(`"` + dq + `"`); err == nil {
		return s
	}
	return dq
}

// erbIn reports whether a scalar holds the output of ERB Slipway did
// not evaluate, and why its key is then left out.
func (k *kamalImport) erbIn(v *kval) (string, bool) {
	if v == nil || v.kind != yaml.ScalarNode {
		return "", false
	}
	return k.erbText(v.file, v.text)
}

// erbText is erbIn for a text read from file, such as a map key.
func (k *kamalImport) erbText(file, text string) (string, bool) {
	m := erbMarkerRe.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	n, _ := strconv.Atoi(m[1])
	line := 0
	if exprs := k.erb[file]; n < len(exprs) {
		line = exprs[n].line
	}
	// The Ruby code is not quoted: it might hold a literal secret.
	return fmt.Sprintf("its value comes from an ERB expression (line %d) that Slipway does not evaluate; it evaluates only ENV[\"X\"], ENV.fetch(\"X\"[, default]) and ENV[\"X\"] || \"default\": write the value, or set it in Go", line), true
}

// emptiedByERB reports whether v is empty because an ERB expression on
// its line output nothing (an unset variable): it is then left unset,
// and the report names the variable.
func (k *kamalImport) emptiedByERB(v *kval) bool {
	return v.isNull() && v != nil && slices.Contains(k.emptied[v.file], v.line)
}

// envNames returns the names sorted and without repeats.
func envNames(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// osLookupEnv is the default lookup.
var osLookupEnv LookupEnv = os.LookupEnv
