package ssh

import (
	"context"
	"io"
	"io/fs"
)

// UploadVia is Upload through the temporary name tmp, so that a test can
// plant something at the one name an upload writes besides its target.
func UploadVia(ctx context.Context, c *Client, dest string, mode fs.FileMode, r io.Reader, tmp string) error {
	return c.upload(ctx, dest, "", mode, r, tmp)
}
