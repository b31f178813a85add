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
package main

import (
	"context"
	"database/sql"
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
	dir, _, _ := strings.Cut(strings.TrimPrefix(*sqlite, "file:"), "?") // the URL may carry pragmas
	go indexIDs(ctx, strings.TrimSuffix(dir, "/"))
	if err := server.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

// indexIDs adds the missing _id expression index to every collection table, every two seconds.
func indexIDs(ctx context.Context, dir string) {
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			if err := indexDatabase(ctx, file); err != nil {
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

func indexDatabase(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return nil // a database FerretDB has not finished creating
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
