package kamal

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on what Load reads, so that a mistaken or hostile file
// fails at once with an error naming the limit, instead of taking
// minutes and gigabytes. A real Kamal config is a few KB, with a few
// hundred values nested about six deep; each limit is far above that.
const (
	// MaxFileSize bounds a config file and a secrets file, in bytes.
	MaxFileSize = 1 << 20
	// MaxNodes bounds the YAML nodes written in one config file:
	// every key, value and list item counts.
	MaxNodes = 50_000
	// MaxValues bounds the values one config file expands to once
	// its aliases and "<<" merge keys are followed, and the keys its
	// merges copy.
	MaxValues = 200_000
	// MaxDepth bounds how deep maps and lists nest, aliases followed.
	MaxDepth = 64
)

// kval is a YAML value with its aliases and merge keys resolved, and
// where it was written. A value an anchor names is converted once and
// shared by every alias of it, so kvals are read only once built.
type kval struct {
	kind  yaml.Kind // MappingNode, SequenceNode or ScalarNode
	tag   string    // a scalar's resolved tag: !!str, !!int, !!null, ...
	text  string
	keys  []string
	vals  []*kval
	index map[string]int // key -> position in keys, for maps
	items []*kval
	file  string
	line  int
	// size counts the values under this one, itself included, as a
	// reader that follows every alias meets them; height is how deep
	// it nests (1 for a scalar).
	size, height int
}

func (v *kval) isNull() bool { return v == nil || v.kind == yaml.ScalarNode && v.tag == "!!null" }

// get returns the value of key in a map, or nil.
func (v *kval) get(key string) *kval {
	if v == nil || v.kind != yaml.MappingNode {
		return nil
	}
	if i, ok := v.index[key]; ok {
		return v.vals[i]
	}
	return nil
}

// has reports whether a map sets key.
func (v *kval) has(key string) bool {
	_, ok := v.index[key]
	return ok
}

// set adds or replaces key, as a later duplicate key does in Kamal.
func (v *kval) set(key string, val *kval) {
	if v.index == nil {
		v.index = map[string]int{}
	}
	if i, ok := v.index[key]; ok {
		v.size += val.size - v.vals[i].size
		v.vals[i] = val
		return
	}
	v.index[key] = len(v.keys)
	v.keys = append(v.keys, key)
	v.vals = append(v.vals, val)
	v.size += 1 + val.size // the key and its value
}

// describe names a value's type for an error.
func (v *kval) describe() string {
	switch {
	case v.isNull():
		return "nothing"
	case v.kind == yaml.MappingNode:
		return "a map"
	case v.kind == yaml.SequenceNode:
		return "a list"
	case v.tag == "!!str":
		return strconv.Quote(v.text)
	}
	return v.text
}

// yamlLineRe finds the line in a YAML syntax error.
var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// readCapped reads a file of at most max bytes; what reads a larger one
// is told so with the limit's name.
func readCapped(file string, max int64, what, limit string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, file, err)
	}
	if int64(len(data)) > max {
		return nil, &Error{File: file, Message: fmt.Sprintf("is larger than %d bytes (%s); a %s is a few KB: check that this is the right file", max, limit, what)}
	}
	return data, nil
}

// loadKamalFile reads a config file: its ERB rendered (see renderERB),
// then its YAML.
func loadKamalFile(file string, lookup LookupEnv) (*kval, erbResult, error) {
	raw, err := readCapped(file, MaxFileSize, "Kamal config", "MaxFileSize")
	if err != nil {
		return nil, erbResult{}, err
	}
	text, res := renderERB(string(raw), lookup)
	if len(text) > MaxFileSize {
		return nil, res, &Error{File: file, Message: fmt.Sprintf("is larger than %d bytes (MaxFileSize) once its ERB is evaluated; check the environment variables it reads", MaxFileSize)}
	}
	data := []byte(text)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		ke := &Error{File: file, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			ke.Line, _ = strconv.Atoi(m[1])
			ke.Message = strings.TrimPrefix(ke.Message, m[0]+": ")
		}
		if strings.Contains(string(raw), "<%") {
			ke.Message += " (after its ERB was evaluated: check the values the environment gives it)"
		}
		return nil, res, ke
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &kval{kind: yaml.MappingNode, file: file, line: 1, size: 1, height: 1}, res, nil
	}
	c := &kconv{file: file, anchored: map[*yaml.Node]*kval{}, open: map[*yaml.Node]bool{}}
	v, err := c.conv(doc.Content[0], 1)
	if err != nil {
		return nil, res, err
	}
	if v.kind == yaml.ScalarNode && erbMarkerRe.MatchString(v.text) {
		// The whole file is the output of ERB Slipway does not evaluate
		// (a file rendering another, say): it imports as empty.
		res.whole = true
		return &kval{kind: yaml.MappingNode, file: file, line: 1, size: 1, height: 1}, res, nil
	}
	if v.kind != yaml.MappingNode {
		return nil, res, &Error{File: file, Line: v.line, Message: "the config must be a map of keys such as service, image and servers, got " + v.describe()}
	}
	return v, res, nil
}

// kconv converts yaml.Nodes into kvals within the limits. Its work is
// linear in the file: each node is converted once, an alias shares
// what its anchor was converted to, and maps find keys by index.
type kconv struct {
	file     string
	nodes    int                  // nodes written in the file, converted so far
	copied   int                  // keys examined by "<<" merges so far
	anchored map[*yaml.Node]*kval // what each anchored node became
	open     map[*yaml.Node]bool  // anchored nodes being converted, to find an alias inside its own anchor
}

func (c *kconv) limit(n *yaml.Node, format string, args ...any) error {
	return &Error{File: c.file, Line: n.Line, Message: fmt.Sprintf(format, args...)}
}

func (c *kconv) expanded(n *yaml.Node) error {
	return c.limit(n, "aliases and \"<<\" merge keys expand to more than %d values (MaxValues); a Kamal config has a few hundred: write the values out, or share less", MaxValues)
}

// conv converts n, written depth levels deep.
func (c *kconv) conv(n *yaml.Node, depth int) (*kval, error) {
	if depth > MaxDepth {
		return nil, c.limit(n, "maps and lists nest deeper than %d levels (MaxDepth); a Kamal config nests about six", MaxDepth)
	}
	if n.Kind == yaml.AliasNode {
		a, err := c.anchor(n.Alias, depth)
		if err != nil {
			return nil, err
		}
		if depth-1+a.height > MaxDepth {
			return nil, c.limit(n, "alias *%s makes maps and lists nest deeper than %d levels (MaxDepth); a Kamal config nests about six", n.Value, MaxDepth)
		}
		cp := *a
		cp.line = n.Line // report where the alias is used
		return &cp, nil
	}
	if n.Anchor != "" {
		return c.anchor(n, depth)
	}
	return c.node(n, depth)
}

// anchor converts an anchored node once and hands every alias of it
// the same value.
func (c *kconv) anchor(n *yaml.Node, depth int) (*kval, error) {
	if v, ok := c.anchored[n]; ok {
		return v, nil
	}
	if c.open[n] {
		return nil, c.limit(n, "anchor &%s holds an alias of itself, which never ends; remove the alias", n.Anchor)
	}
	c.open[n] = true
	v, err := c.node(n, depth)
	delete(c.open, n)
	if err != nil {
		return nil, err
	}
	c.anchored[n] = v
	return v, nil
}

// node converts a map, list or scalar.
func (c *kconv) node(n *yaml.Node, depth int) (*kval, error) {
	if c.nodes++; c.nodes > MaxNodes {
		return nil, c.limit(n, "the file holds more than %d YAML nodes (MaxNodes); a Kamal config has a few hundred: check that this is the right file", MaxNodes)
	}
	v := &kval{kind: n.Kind, file: c.file, line: n.Line, size: 1, height: 1}
	switch n.Kind {
	case yaml.ScalarNode:
		v.tag, v.text = n.ShortTag(), n.Value
	case yaml.SequenceNode:
		v.items = make([]*kval, 0, len(n.Content))
		for _, item := range n.Content {
			iv, err := c.conv(item, depth+1)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, iv)
			v.size += iv.size
			v.height = max(v.height, 1+iv.height)
		}
	case yaml.MappingNode:
		if err := c.mapping(v, n, depth); err != nil {
			return nil, err
		}
	default:
		return nil, &Error{File: c.file, Line: n.Line, Message: "unexpected YAML node"}
	}
	if v.size > MaxValues {
		return nil, c.expanded(n)
	}
	return v, nil
}

// mapping fills v with the keys of a map and of its "<<" merge keys.
func (c *kconv) mapping(v *kval, n *yaml.Node, depth int) error {
	var merges []*kval
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == yaml.ScalarNode && kn.ShortTag() == "!!merge" {
			mv, err := c.conv(vn, depth+1)
			if err != nil {
				return err
			}
			merges = append(merges, mv)
			continue
		}
		if kn.Kind != yaml.ScalarNode {
			return &Error{File: c.file, Line: kn.Line, Message: "a key must be a plain name, not a map or a list"}
		}
		c.nodes++ // the key
		val, err := c.conv(vn, depth+1)
		if err != nil {
			return err
		}
		v.set(kn.Value, val)
		v.height = max(v.height, 1+val.height)
	}
	// Keys written in the map win over merged ones; earlier merged
	// maps win over later ones.
	for _, m := range merges {
		sources := []*kval{m}
		if m.kind == yaml.SequenceNode {
			sources = m.items
		}
		for _, s := range sources {
			if s.kind != yaml.MappingNode {
				return &Error{File: c.file, Line: s.line, Message: "a \"<<\" merge key takes a map or a list of maps, got " + s.describe()}
			}
			if c.copied += len(s.keys); c.copied > MaxValues {
				return c.expanded(n)
			}
			for i, key := range s.keys {
				if !v.has(key) {
					v.set(key, s.vals[i])
					v.height = max(v.height, 1+s.vals[i].height)
				}
			}
			if v.size > MaxValues {
				return c.expanded(n)
			}
		}
	}
	return nil
}

// mergeKamal deep-merges over onto base as Kamal merges a destination
// file: maps merge key by key; any other value replaces.
func mergeKamal(base, over *kval) *kval {
	if base == nil || base.kind != yaml.MappingNode || over == nil || over.kind != yaml.MappingNode {
		return over
	}
	m := &kval{kind: yaml.MappingNode, file: base.file, line: base.line, size: 1, height: 1}
	for i, key := range base.keys {
		m.set(key, base.vals[i])
	}
	for i, key := range over.keys {
		m.set(key, mergeKamal(m.get(key), over.vals[i]))
	}
	for _, val := range m.vals {
		m.height = max(m.height, 1+val.height)
	}
	return m
}
