package replicate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/superfly/ltx"
)

// Seed is one file of Litestream state to put beside a restored
// database: Name is its path relative to the database's directory, with
// slashes (it is written on a host), and Data its bytes.
type Seed struct {
	Name string
	Data []byte
}

// ContinuationSeed is the Litestream state a replicator needs to take the
// restored database (the file at restored) as its own and continue the
// replica after txid, the replica's newest transaction: one level-0
// transaction file at txid that matches no WAL. On start the replicator
// finds itself level with the replica, sees the restored database's fresh
// WAL, and writes a full snapshot of it as txid+1; its later writes
// follow incrementally. A recovery writes it beside the restored database
// (deploy.Session.Recover) before any replicator starts.
//
// Litestream's own restart handling does not do this in v0.5.18: with
// no local state it fetches the replica's newest level-0 file, whose WAL
// offset is the damaged database's, larger than the restored database's
// WAL, and then ships nothing (the replica stalls at txid+1 while writes
// pile up on the host); with the old state moved aside under it, it
// fails with "cannot verify wal state".
func ContinuationSeed(restored string, txid uint64) (Seed, error) {
	data, err := continuationSeed(restored, txid)
	if err != nil {
		return Seed{}, err
	}
	dir := filepath.ToSlash(TransactionsDir(filepath.Base(restored)))
	return Seed{Name: path.Join(dir, ltx.FormatFilename(ltx.TXID(txid), ltx.TXID(txid))), Data: data}, nil
}

func continuationSeed(restored string, txid uint64) ([]byte, error) {
	f, err := os.Open(restored)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, 100)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, fmt.Errorf("read the header of %s: %w", restored, err)
	}
	pageSize := uint32(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || st.Size() < int64(pageSize) {
		return nil, fmt.Errorf("%s is not a SQLite database (page size %d, %d bytes)", restored, pageSize, st.Size())
	}
	page := make([]byte, pageSize)
	if _, err := f.ReadAt(page, 0); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc, err := ltx.NewEncoder(&buf)
	if err != nil {
		return nil, err
	}
	if err := enc.EncodeHeader(ltx.Header{
		Version: ltx.Version, Flags: ltx.HeaderFlagNoChecksum, PageSize: pageSize,
		Commit: uint32(st.Size() / int64(pageSize)), MinTXID: ltx.TXID(txid), MaxTXID: ltx.TXID(txid),
		Timestamp: time.Now().UnixMilli(), WALOffset: walHeaderSize,
	}); err != nil {
		return nil, err
	}
	if err := enc.EncodePage(ltx.PageHeader{Pgno: 1}, page); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
