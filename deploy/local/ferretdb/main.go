// Command ferretdb runs FerretDB 1.24's embeddable server on its SQLite backend.
//
// Why our own main: FerretDB's cmd/ferretdb panics at start unless built from its own repository
// (it wants a generated build/version/version.txt), and only the module proxy is reachable here.
// The embeddable package has no such check.
//
// It also mends one upstream fault: FerretDB 1.24.2 indexes `_id` as `_ferretdb_sjson->"_id"`
// but looks documents up by `_ferretdb_sjson->'$._id'`, an expression SQLite does not match to
// that index, so every lookup, update and delete by _id scans its whole table. Every few seconds
// this runner adds an index on the expression the queries use, to each collection's table.
//
// And it checks the data directory before FerretDB opens it (checkDataDir): FerretDB refuses to
// start beside one database file it cannot read, and says only "no such table".
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "address to listen on")
	sqlite := flag.String("sqlite-url", "file:data/", "SQLite directory URL; must end with /")
	flag.Parse()

	dir, _, _ := strings.Cut(strings.TrimPrefix(*sqlite, "file:"), "?") // the URL may carry pragmas
	dir = strings.TrimSuffix(dir, "/")
	if err := checkDataDir(dir); err != nil {
		log.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	server, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: *sqlite,
		Logger:    logger,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go indexIDs(ctx, dir, 2*time.Second)
	if err := server.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

// openExisting opens a database file read-write and never creates it. SQLite's default is to
// create a missing file, and a database FerretDB dropped between our glob and our open used to
// come back so, as an empty file that FerretDB then refused to start beside (issue 21).
func openExisting(file string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
}

// indexIDs adds the missing _id expression index to every collection table, every `every`.
func indexIDs(ctx context.Context, dir string, every time.Duration) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			if err := indexDatabase(ctx, file); err != nil && !gone(file) {
				log.Printf("indexing %s: %v", file, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// gone: the file was dropped while we looked at it, which is no fault of anyone's.
func gone(file string) bool {
	_, err := os.Stat(file)
	return errors.Is(err, os.ErrNotExist)
}

func indexDatabase(ctx context.Context, file string) error {
	db, err := openExisting(file)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return nil // a database FerretDB has not finished creating, or one just dropped
	}
	var tables []string
	for rows.Next() {
		var table string
		if rows.Scan(&table) == nil {
			tables = append(tables, table)
		}
	}
	rows.Close()
	for _, table := range tables {
		// Looked up first, read-only: once a table is indexed, the loop no longer runs DDL
		// against the databases FerretDB is writing to every two seconds.
		var found int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, table+"__id_path").Scan(&found)
		if err != nil || found > 0 {
			continue
		}
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+"__id_path", table)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// checkDataDir looks at every database file FerretDB is about to open. A file with no tables
// at all holds nothing to lose (an older runner could leave one, see openExisting): it is moved
// to a sibling folder, named in one log line. Any other file FerretDB could not open stops the
// start with a message that names it; nothing is ever deleted.
func checkDataDir(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return err
	}
	aside := filepath.Join(filepath.Dir(dir), "set-aside")
	for _, file := range files {
		tables, hasCatalogue, err := inspect(file)
		switch {
		case err != nil:
			return fmt.Errorf("FerretDB cannot start: %s is not a database SQLite can open (%v); "+
				"move it out of %s (keep it if it may hold data) and start again", file, err, dir)
		case tables == 0:
			if err := os.MkdirAll(aside, 0o755); err != nil {
				return err
			}
			to := filepath.Join(aside, fmt.Sprintf("%s.%s", filepath.Base(file), time.Now().UTC().Format("20060102T150405.000000000")))
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Rename(file+suffix, to+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			log.Printf("moved the empty database file %s (no tables, nothing to lose) to %s", file, to)
		case !hasCatalogue:
			return fmt.Errorf("FerretDB cannot start: %s has %d tables but no _ferretdb_collections, "+
				"so it is not a FerretDB database; move it out of %s and start again", file, tables, dir)
		}
	}
	return nil
}

// inspect counts a database file's tables and says whether FerretDB's catalogue is among them.
// Opened read-write (never created) so that SQLite replays a write-ahead log a crash left behind.
func inspect(file string) (tables int, hasCatalogue bool, err error) {
	db, err := openExisting(file)
	if err != nil {
		return 0, false, err
	}
	defer db.Close()
	err = db.QueryRow(`SELECT count(*), coalesce(sum(name = '_ferretdb_collections'), 0) FROM sqlite_master WHERE type = 'table'`).Scan(&tables, &hasCatalogue)
	return tables, hasCatalogue, err
}
