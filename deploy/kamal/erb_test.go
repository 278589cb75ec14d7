package kamal

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRenderERB(t *testing.T) {
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"HOST": "10.0.0.1", "EMPTY": ""}[name]
		return v, ok
	}
	tests := []struct {
		name, in, want string
		read, missing  []string
	}{
		{name: "reads ENV with double quotes", in: `host: <%= ENV["HOST"] %>`, want: "host: 10.0.0.1", read: []string{"HOST"}},
		{name: "reads ENV with single quotes", in: `host: <%= ENV['HOST'] %>`, want: "host: 10.0.0.1", read: []string{"HOST"}},
		{name: "reads ENV.fetch", in: `host: <%= ENV.fetch("HOST") %>`, want: "host: 10.0.0.1", read: []string{"HOST"}},
		{name: "takes fetch's default when unset", in: `port: <%= ENV.fetch("PORT", "3000") %>`, want: "port: 3000", read: []string{"PORT"}},
		{name: "takes fetch's block default when unset", in: `port: <%= ENV.fetch('PORT') { '3000' } %>`, want: "port: 3000", read: []string{"PORT"}},
		{name: "takes || default when unset", in: `port: <%= ENV["PORT"] || "3000" %>`, want: "port: 3000", read: []string{"PORT"}},
		{name: "keeps an empty value over || default, as Ruby does", in: `x: <%= ENV["EMPTY"] || "d" %>`, want: "x: ", read: []string{"EMPTY"}},
		{name: "prefers the value over a default", in: `h: <%= ENV.fetch("HOST", "x") %>`, want: "h: 10.0.0.1", read: []string{"HOST"}},
		{name: "leaves an unset variable empty and names it", in: `h: <%= ENV["NOPE"] %>`, want: "h: ", read: []string{"NOPE"}, missing: []string{"NOPE"}},
		{name: "reads escapes in a double-quoted default", in: `x: "<%= ENV.fetch("NOPE", "a\tb") %>"`, want: "x: \"a\tb\"", read: []string{"NOPE"}},
		{name: "trims the dash of -%>", in: `h: <%= ENV["HOST"] -%>`, want: "h: 10.0.0.1", read: []string{"HOST"}},
		{name: "drops a comment", in: "a: 1 <%# why %>\nb: 2", want: "a: 1 \nb: 2"},
		{name: "writes <%% as <%", in: "a: <%%= x %>", want: "a: <%= x %>"},
		{name: "marks other output", in: "sha: <%= `git rev-parse HEAD`.strip %>", want: "sha: " + erbMarker + "0_"},
		{
			name: "drops statements and keeps their lines",
			in:   "<%\n  @a = 1\n%>\nservice: x\n<% require 'dotenv'; Dotenv.load %>\nimage: y",
			want: "\n\n\nservice: x\n\nimage: y",
		},
		{
			name: "keeps a conditional's first branch and the file's lines",
			in:   "<% if ENV['X'] %>\na: 1\n<% elsif ENV['Y'] %>\na: 2\n<% else %>\na: <%= ENV[\"HOST\"] %>\n<% end %>\nb: 3",
			want: "\na: 1\n\n\n\n\n\nb: 3",
		},
		{
			name: "keeps a loop's body once",
			in:   "hosts:\n<% %w[a b].each do |h| %>\n  - <%= h %>\n<% end %>\n",
			want: "hosts:\n\n  - " + erbMarker + "0_\n\n",
		},
		{name: "leaves an unclosed tag to the YAML parser", in: "a: <%= ENV['HOST']", want: "a: <%= ENV['HOST']"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res := renderERB(tt.in, env)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.read, res.read)
			assert.Equal(t, tt.missing, res.missing)
			assert.Equal(t, strings.Count(tt.in, "\n"), strings.Count(got, "\n"), "every line stays where it was")
		})
	}
}

func TestRenderERBRecordsWhatItDoesNotRun(t *testing.T) {
	in := "<% x = 1 %>\na: <%= x %>\n<% if x %>\nb: 1\n<% end %>\n<% begin %>\nc: 1\n<% rescue %>\nc: 2\n<% end %>\n"
	got, res := renderERB(in, func(string) (string, bool) { return "", false })
	assert.Equal(t, "\na: "+erbMarker+"0_\n\nb: 1\n\n\nc: 1\n\n\n\n", got)
	assert.Equal(t, []int{1}, res.statements)
	assert.Equal(t, []erbExpr{{line: 2, code: "x"}}, res.exprs)
	assert.Equal(t, []erbBlock{
		{line: 3, word: "if", kind: "a conditional: its first branch is imported and the others left out"},
		{line: 6, word: "begin", kind: "a begin block: its body is imported and its rescue left out"},
	}, res.blocks)
}

func TestParseMemoryReadsWhatDockerReads(t *testing.T) {
	for in, want := range map[string]int64{
		"512m": 512 << 20, "2g": 2 << 30, "1G": 1 << 30, "500MiB": 500 << 20, "2Gb": 2 << 30,
		"1.5g": 3 << 29, "1073741824": 1 << 30, "64 k": 64 << 10, "1t": 1 << 40,
	} {
		got, err := parseMemory(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for _, in := range []string{"", "lots", "-1g", "1x", "g"} {
		_, err := parseMemory(in)
		assert.Error(t, err, in)
	}
}

// Whatever the ERB, rendering ends, and keeps every line where it was.
func FuzzRenderERB(f *testing.F) {
	for _, s := range []string{
		"a: <%= ENV['X'] %>", "<% if x %>\na: 1\n<% else %>\na: 2\n<% end %>", "<%", "%>", "<%%", "<%= %>",
		"<% end %><% end %>", "<%= ENV.fetch(\"X\") { \"d\" } %>", "<%#\n%>", "a\r\nb<% x\r\n%>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, _ := renderERB(in, func(string) (string, bool) { return "", false })
		if strings.Count(got, "\n") != strings.Count(in, "\n") {
			t.Fatalf("%q rendered %q: lines moved", in, got)
		}
	})
}
