package ssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Result is what a command printed and how it exited.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// ExitError is returned by Run when the command ran but exited non-zero.
type ExitError struct {
	Host     string
	Command  string
	ExitCode int
	Stderr   string // the last lines of stderr, trimmed
}

// Error names the command, the host, the exit status and the end of stderr.
func (e *ExitError) Error() string {
	msg := fmt.Sprintf("run %q on %s: exit status %d", e.Command, e.Host, e.ExitCode)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// Run runs a shell command on the host and waits for it. stdin may be nil.
// A command that exits non-zero returns its Result and an *ExitError.
// Commands appear in errors, so never put a secret in one: pass it on
// stdin or through the engine API instead.
func (c *Client) Run(ctx context.Context, cmd string, stdin io.Reader) (Result, error) {
	var stdout, stderr bytes.Buffer
	code, err := c.Stream(ctx, cmd, stdin, &stdout, &stderr)
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}
	if err != nil {
		return res, err
	}
	if code != 0 {
		return res, &ExitError{Host: c.Host(), Command: cmd, ExitCode: code, Stderr: lastLines(stderr.String(), 5)}
	}
	return res, nil
}

// ErrCommandTimeout means a command went Config.CommandTimeout without
// reading input or writing output, and was ended.
var ErrCommandTimeout = errors.New("command went silent")

// Stream runs a shell command with its output going to stdout and stderr
// as it is produced, and returns its exit code. When ctx ends, or the
// command stays silent for Config.CommandTimeout (see ErrCommandTimeout),
// Stream sends the command SIGKILL, closes the session and returns at
// once. OpenSSH ignores signals in root sessions, so there a command that
// reads no input and writes no output may run on until it ends by itself.
func (c *Client) Stream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	idle := newIdleWatch(c.cfg.commandTimeout())
	defer idle.stop()
	sess, err := c.openSession(ctx, idle)
	if err != nil {
		return -1, fmt.Errorf("run %q on %s: open session: %w", cmd, c.Host(), err)
	}
	defer sess.Close()
	if stdin != nil {
		stdin = idle.reader(stdin)
	}
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, idle.writer(stdout), idle.writer(stderr)

	if err := sess.Start(cmd); err != nil {
		return -1, fmt.Errorf("run %q on %s: %w", cmd, c.Host(), err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()

	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(gossh.SIGKILL)
		sess.Close()
		return -1, fmt.Errorf("run %q on %s: %w", cmd, c.Host(), ctx.Err())
	case <-idle.expired:
		sess.Signal(gossh.SIGKILL)
		sess.Close()
		return -1, fmt.Errorf("run %q on %s: %w: no input or output for %s, so it was ended: the host or the command hung",
			cmd, c.Host(), ErrCommandTimeout, idle.limit)
	}
	var exit *gossh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitStatus(), nil
	default:
		return -1, fmt.Errorf("run %q on %s: %w", cmd, c.Host(), err)
	}
}

// openSession opens a session, giving up when ctx ends or the idle limit
// passes: on a connection whose peer stopped answering, opening a channel
// waits for a reply until the keepalive closes the connection.
func (c *Client) openSession(ctx context.Context, idle *idleWatch) (*gossh.Session, error) {
	type opened struct {
		s   *gossh.Session
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := c.conn.NewSession()
		ch <- opened{s, err}
	}()
	abandon := func() {
		go func() {
			if o := <-ch; o.s != nil {
				o.s.Close()
			}
		}()
	}
	select {
	case o := <-ch:
		return o.s, o.err
	case <-ctx.Done():
		abandon()
		return nil, ctx.Err()
	case <-idle.expired:
		abandon()
		return nil, fmt.Errorf("%w: no answer within %s", ErrCommandTimeout, idle.limit)
	}
}

// idleWatch closes expired once no byte has moved in or out for limit.
type idleWatch struct {
	limit   time.Duration
	last    atomic.Int64 // unix nanoseconds of the last byte moved
	expired chan struct{}
	done    chan struct{}
}

func newIdleWatch(limit time.Duration) *idleWatch {
	w := &idleWatch{limit: limit, expired: make(chan struct{}), done: make(chan struct{})}
	if limit <= 0 {
		w.expired = nil // never fires
		return w
	}
	w.touch()
	go func() {
		t := time.NewTimer(limit)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
			}
			quiet := time.Since(time.Unix(0, w.last.Load()))
			if quiet >= limit {
				close(w.expired)
				return
			}
			t.Reset(limit - quiet)
		}
	}()
	return w
}

func (w *idleWatch) stop() { close(w.done) }

func (w *idleWatch) touch() { w.last.Store(time.Now().UnixNano()) }

func (w *idleWatch) reader(r io.Reader) io.Reader { return idleReader{r, w} }

func (w *idleWatch) writer(out io.Writer) io.Writer {
	if out == nil {
		out = io.Discard
	}
	return idleWriter{out, w}
}

type idleReader struct {
	r io.Reader
	w *idleWatch
}

func (r idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.w.touch()
	}
	return n, err
}

type idleWriter struct {
	out io.Writer
	w   *idleWatch
}

func (w idleWriter) Write(p []byte) (int, error) {
	w.w.touch()
	return w.out.Write(p)
}

// ErrUploadRefused means Upload would have had to write through a
// symbolic link or onto something that is not a regular file; nothing was
// written.
var ErrUploadRefused = errors.New("upload refused")

// uploadRefused is the exit code of the upload script when it refuses.
const uploadRefused = 3

// Upload writes r to the file dest on the host. The file appears whole or
// not at all, and the upload is safe in a directory that someone else can
// write, such as a volume an app container mounts:
//
//   - It never follows a symbolic link and never writes outside dest's
//     directory. The directory (created with mkdir -p when missing) must
//     be dest's directory as given, with no symbolic link on the way
//     (ErrUploadRefused otherwise); the upload works inside it from then
//     on, so a directory swapped for a link later is not followed.
//   - A dest that is a symbolic link, a directory or any other
//     non-regular file is refused with ErrUploadRefused.
//   - The content goes to a new file of a random name beside dest,
//     created with O_CREAT|O_EXCL|O_NOFOLLOW (so a planted file or link
//     of that name makes the upload fail instead of being written
//     through), then renamed onto dest with rename(2), which replaces a
//     link rather than following it.
//   - Only that new file's owner and mode are set, never through a link:
//     an existing dest keeps its owner, group and mode; a new one gets
//     mode and the SSH user as owner.
//
// Uploads are data files: only read and write bits are set (mode&0666);
// an existing dest's execute and special bits are not carried over, and a
// mode with any of them is an error. The remote side needs only a POSIX
// shell and coreutils (dd, stat, chown, mv).
func (c *Client) Upload(ctx context.Context, dest string, mode fs.FileMode, r io.Reader) error {
	return c.UploadLike(ctx, dest, "", mode, r)
}

// UploadLike is Upload where a dest that does not exist takes the owner
// and mode of like, a file in dest's directory named by its base name —
// such as the damaged database a recovery moved aside before it uploads
// the restored one. When like is "" or is no regular file, a new dest
// gets mode, as with Upload; like is never followed if it is a link.
func (c *Client) UploadLike(ctx context.Context, dest, like string, mode fs.FileMode, r io.Reader) error {
	if !path.IsAbs(dest) || path.Clean(dest) != dest || dest == "/" {
		return fmt.Errorf("upload to %s on %s: the path must be absolute and clean, such as /srv/app/app.db", dest, c.Host())
	}
	if mode&^0o666 != 0 {
		return fmt.Errorf("upload to %s on %s: mode %04o has bits beyond read and write; Upload writes data files", dest, c.Host(), uint32(mode))
	}
	if strings.Contains(like, "/") || like == "." || like == ".." {
		return fmt.Errorf("upload to %s on %s: like %q must be the base name of a file beside it", dest, c.Host(), like)
	}
	return c.upload(ctx, dest, like, mode, r, uploadTempName())
}

// uploadTempName is a name no one can guess ahead of the upload.
func uploadTempName() string {
	b := make([]byte, 12)
	rand.Read(b)
	return ".slipway-upload-" + hex.EncodeToString(b)
}

func (c *Client) upload(ctx context.Context, dest, like string, mode fs.FileMode, r io.Reader, tmp string) error {
	dir, base := path.Split(dest)
	dir = path.Clean(dir)
	if _, err := c.Run(ctx, uploadScript(dir, base, like, tmp, mode), r); err != nil {
		if exit, ok := errors.AsType[*ExitError](err); ok && exit.ExitCode == uploadRefused {
			return fmt.Errorf("upload %s to %s: %w: %s", dest, c.Host(), ErrUploadRefused, exit.Stderr)
		}
		// The script may not have got to remove its file (a dropped connection).
		c.Run(context.WithoutCancel(ctx), removeScript(dir, tmp), nil)
		return fmt.Errorf("upload %s to %s: %w", dest, c.Host(), err)
	}
	return nil
}

// uploadScript writes stdin to dir/base through the new file dir/tmp,
// with the owner and mode of base, or else of like, or else mode. It
// works inside dir once it has checked that dir is reached through no
// link, so every later name is relative to that directory itself.
func uploadScript(dir, base, like, tmp string, mode fs.FileMode) string {
	return fmt.Sprintf(`set -eu
dir=%s base=%s like=%s tmp=%s mode=%o
refuse() { echo "$*" >&2; exit %d; }
mkdir -p -- "$dir"
cd -P -- "$dir"
[ "$(pwd -P)" = "$dir" ] || refuse "$dir is reached through a symbolic link (it resolves to $(pwd -P)); not writing there"
{ [ ! -e "$tmp" ] && [ ! -L "$tmp" ]; } || refuse "$dir/$tmp exists already; someone else wrote it"
trap 'rm -f -- "$tmp"' EXIT
owner=
info=$(stat -c '%%u:%%g %%a %%F' -- "$base" 2>/dev/null) || info=
case $info in
'') ;;
*' regular file' | *' regular empty file')
	owner=${info%%%% *}; info=${info#* }; mode=${info%%%% *} ;;
*) refuse "$dir/$base is a ${info#* * }, not a regular file; not writing through it" ;;
esac
if [ -z "$info" ] && [ -n "$like" ]; then
	info=$(stat -c '%%u:%%g %%a %%F' -- "$like" 2>/dev/null) || info=
	case $info in
	*' regular file' | *' regular empty file')
		owner=${info%%%% *}; info=${info#* }; mode=${info%%%% *} ;;
	esac
fi
umask "$(printf %%o $(( 0777 & ~(0$mode & 0666) )))"
dd of="$tmp" conv=excl,fsync oflag=nofollow bs=1M status=none
[ -z "$owner" ] || chown -h -- "$owner" "$tmp"
mv -fT -- "$tmp" "$base"
`, Quote(dir), Quote(base), Quote(like), Quote(tmp), mode.Perm()&0o666, uploadRefused)
}

// removeScript removes a temporary file a failed upload may have left,
// inside dir as the upload saw it.
func removeScript(dir, tmp string) string {
	return fmt.Sprintf(`cd -P -- %[1]s && [ "$(pwd -P)" = %[1]s ] && rm -f -- %[2]s`, Quote(dir), Quote(tmp))
}

// Quote returns s quoted for a POSIX shell.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
