package targets

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{"bin/rails console", []string{"bin/rails", "console"}},
		{"  ls   -l  ", []string{"ls", "-l"}},
		{"sh -c 'echo a b'", []string{"sh", "-c", "echo a b"}},
		{`sh -c "echo a  b"`, []string{"sh", "-c", "echo a  b"}},
		{`echo a\ b`, []string{"echo", "a b"}},
		{`echo "a \"b\" \c"`, []string{"echo", `a "b" \c`}},
		{`sh -c 'echo $HOME $(id -u)'`, []string{"sh", "-c", "echo $HOME $(id -u)"}},
		{"ls *.db ~/x", []string{"ls", "*.db", "~/x"}},
		{`echo ''`, []string{"echo", ""}},
		{`a'b'"c"d`, []string{"abcd"}},
	} {
		got, err := splitCommand(tc.cmd)
		require.NoError(t, err, tc.cmd)
		assert.Equal(t, tc.want, got, tc.cmd)
	}
}

func TestSplitCommandRefusesWhatNeedsAShell(t *testing.T) {
	for cmd, want := range map[string]string{
		"echo $HOME":         "$HOME would be expanded on this machine, not in the container: single-quote it",
		`echo "${HOME}"`:     "$HOME would be expanded on this machine",
		"echo $(id -u)":      "a command substitution $(...) would be expanded",
		"echo $((1+2))":      "an arithmetic expansion",
		"ls | wc -l":         "needs a shell",
		"ls > out":           "needs a shell",
		"a=1 env":            "needs a shell",
		"ls; ls":             "needs a shell",
		"":                   "is empty",
		"echo 'unterminated": "cannot split",
	} {
		_, err := splitCommand(cmd)
		require.Error(t, err, cmd)
		_, invalid := errors.AsType[*deploy.ValidationError](err)
		assert.True(t, invalid, "%q: a bad command is a bad config (exit 2): %T", cmd, err)
		assert.Contains(t, err.Error(), want, cmd)
	}
}
