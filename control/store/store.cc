#include "control/store/store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <dtl/dtl.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "control/store/yaml_doc.h"

namespace tierwall::ctl::store {
namespace {

#define TWS_RETURN_IF_ERROR(expr)                      \
  do {                                                 \
    if (absl::Status s_ = (expr); !s_.ok()) return s_; \
  } while (0)

constexpr char kDbFile[] = "tierwall.db";
constexpr char kLockFile[] = "LOCK";
constexpr char kHeadFile[] = "HEAD";
constexpr char kRecoverVerb[] = "recover";
constexpr int kSchemaVersion = 1;
const std::string kZeroHash(64, '0');

absl::Status SqlError(sqlite3* db, absl::string_view what) {
  int code = sqlite3_errcode(db);
  std::string msg = absl::StrCat("store: ", what, ": ", sqlite3_errmsg(db));
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN: return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return absl::DataLossError(msg);
    default: return absl::InternalError(msg);
  }
}

// A prepared statement; errors surface from Step() (a failed prepare makes
// every Step fail with the prepare's message).
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      prepare_error_ = SqlError(db, absl::StrCat("prepare \"", sql, "\""));
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v) {
    if (stmt_) sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::string_view v) {
    if (stmt_) sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindOpt(int i, const std::optional<std::string>& v) {
    if (!v) {
      if (stmt_) sqlite3_bind_null(stmt_, i);
      return *this;
    }
    return Bind(i, std::string_view(*v));
  }
  // true: a row is there; false: done.
  absl::StatusOr<bool> Step() {
    if (!prepare_error_.ok()) return prepare_error_;
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, "step");
  }
  absl::Status Run() {
    absl::StatusOr<bool> r = Step();
    return r.ok() ? absl::OkStatus() : r.status();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  // Exactly the stored bytes (column_bytes, not strlen: a NUL must not hide
  // a tampered tail from the audit check).
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
  }
  std::optional<std::string> OptText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Text(col);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  absl::Status prepare_error_;
};

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status s = SqlError(db, absl::StrCat("exec \"", sql, "\""));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

// BEGIN IMMEDIATE takes the write lock up front, so the reads that decide a
// batch (revision counter, current versions) cannot go stale before it
// commits. Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  absl::Status Begin() {
    TWS_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
    open_ = true;
    return absl::OkStatus();
  }
  absl::Status Commit() {
    TWS_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
    open_ = false;
    return absl::OkStatus();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('revision', 0);
CREATE TABLE resources (
  id        INTEGER PRIMARY KEY,
  kind      TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name      TEXT NOT NULL,
  revision  INTEGER NOT NULL,
  yaml      TEXT NOT NULL,
  deleted   INTEGER NOT NULL DEFAULT 0,
  UNIQUE (kind, namespace, name)
);
CREATE TABLE versions (
  resource_id INTEGER NOT NULL REFERENCES resources (id),
  revision    INTEGER NOT NULL,
  verb        TEXT NOT NULL,
  yaml        TEXT,
  time        TEXT NOT NULL,
  user        TEXT NOT NULL,
  PRIMARY KEY (resource_id, revision)
);
CREATE TABLE audit (
  seq         INTEGER PRIMARY KEY,
  revision    INTEGER NOT NULL,
  time        TEXT NOT NULL,
  user        TEXT NOT NULL,
  verb        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  namespace   TEXT NOT NULL,
  name        TEXT NOT NULL,
  before_yaml TEXT,
  after_yaml  TEXT,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
);
CREATE INDEX audit_by_revision ON audit (revision);
)sql";

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

// The canonical record the hash covers: every field but the hashes, each as
// "<byte length>:<bytes>;" (NULL as "~;"). Length prefixes make it
// unambiguous for any bytes, without escaping rules to get wrong.
std::string CanonicalRecord(const AuditRecord& r) {
  std::string out;
  auto field = [&out](absl::string_view v) { absl::StrAppend(&out, v.size(), ":", v, ";"); };
  auto opt = [&](const std::optional<std::string>& v) {
    if (v) {
      field(*v);
    } else {
      out += "~;";
    }
  };
  field(absl::StrCat(r.seq));
  field(absl::StrCat(r.revision));
  field(r.time);
  field(r.user);
  field(r.verb);
  field(r.identity.kind);
  field(r.identity.namespace_);
  field(r.identity.name);
  opt(r.before_yaml);
  opt(r.after_yaml);
  return out;
}

std::string RecordHash(const AuditRecord& r) {
  return Sha256Hex(absl::StrCat(r.prev_hash, CanonicalRecord(r)));
}

std::string Rfc3339(int64_t unix_millis) {
  std::time_t secs = static_cast<std::time_t>(unix_millis / 1000);
  int millis = static_cast<int>(unix_millis % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

absl::StatusOr<int64_t> ReadRevision(sqlite3* db) {
  Stmt s(db, "SELECT value FROM meta WHERE key = 'revision'");
  absl::StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::DataLossError("store: revision counter missing");
  return s.Int(0);
}

absl::StatusOr<std::string> StateYaml(sqlite3* db) {
  Stmt s(db, "SELECT yaml FROM resources WHERE deleted = 0 ORDER BY kind, namespace, name");
  std::string out;
  while (true) {
    absl::StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    absl::StrAppend(&out, "---\n", s.Text(0));
  }
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  if (text.empty()) return {};
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

absl::StatusOr<std::vector<AuditRecord>> ReadAudit(sqlite3* db, int64_t after_seq, size_t limit) {
  Stmt s(db,
         "SELECT seq, revision, time, user, verb, kind, namespace, name, before_yaml, "
         "after_yaml, prev_hash, hash FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  s.Bind(1, after_seq).Bind(2, limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit));
  std::vector<AuditRecord> out;
  while (true) {
    absl::StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    AuditRecord r;
    r.seq = s.Int(0);
    r.revision = s.Int(1);
    r.time = s.Text(2);
    r.user = s.Text(3);
    r.verb = s.Text(4);
    r.identity = {s.Text(5), s.Text(6), s.Text(7)};
    r.before_yaml = s.OptText(8);
    r.after_yaml = s.OptText(9);
    r.prev_hash = s.Text(10);
    r.hash = s.Text(11);
    out.push_back(std::move(r));
  }
  return out;
}

// The last audit record's revision and hash; (0, zeros) without records.
absl::StatusOr<std::pair<int64_t, std::string>> LastRecord(sqlite3* db) {
  Stmt s(db, "SELECT revision, hash FROM audit ORDER BY seq DESC LIMIT 1");
  absl::StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::make_pair(int64_t{0}, kZeroHash);
  return std::make_pair(s.Int(0), s.Text(1));
}

// What `<dir>/HEAD` says; nullopt when there is no such file.
absl::StatusOr<std::optional<std::pair<int64_t, std::string>>> ReadHead(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    return absl::UnavailableError(absl::StrCat("store: cannot read ", path, ": ", strerror(errno)));
  }
  int64_t revision = -1;
  std::string hash;
  if (!(in >> revision >> hash) || revision < 0 || hash.size() != 64) {
    return absl::DataLossError(
        absl::StrCat("store integrity: the chain head file ", path, " is malformed"));
  }
  return std::make_pair(revision, hash);
}

// Replaces `path` with `content` so that a crash leaves the old or the new
// file, never a torn one: write a temporary file, fsync it, rename it over,
// fsync the directory (the rename is durable only then).
absl::Status WriteFileAtomically(const std::string& dir, const std::string& path,
                                 const std::string& content) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    return absl::UnavailableError(absl::StrCat("store: ", what, " ", tmp, ": ", strerror(errno)));
  };
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create");
  bool written = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  if (!written || fsync(fd) != 0) {
    absl::Status s = fail("cannot write");
    close(fd);
    return s;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename");
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail("cannot open the directory of");
  int rc = fsync(dfd);
  close(dfd);
  if (rc != 0) return fail("cannot fsync the directory of");
  return absl::OkStatus();
}

std::string ShortHash(const std::string& hash) { return hash.substr(0, 16) + "..."; }

}  // namespace

std::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kCreate: return "create";
    case Verb::kReplace: return "replace";
    case Verb::kApply: return "apply";
    case Verb::kDelete: return "delete";
    case Verb::kStage: return "stage";
    case Verb::kEnforce: return "enforce";
    case Verb::kRollback: return "rollback";
  }
  return "unknown";
}

std::string Identity::ToString() const {
  if (namespace_.empty()) return absl::StrCat(kind, "/", name);
  return absl::StrCat(kind, "/", namespace_, "/", name);
}

absl::StatusOr<Identity> IdentityOf(std::string_view yaml_document) {
  absl::StatusOr<internal::ParsedDocument> doc =
      internal::ParseDocument(yaml_document, Options().max_document_bytes);
  if (!doc.ok()) return doc.status();
  return doc->identity;
}

bool IsNamespacedKind(std::string_view kind) {
  return kind == "NetworkPolicy" || kind == "StagedNetworkPolicy" ||
         kind == "StagedKubernetesNetworkPolicy" || kind == "KubernetesNetworkPolicy" ||
         kind == "WorkloadEndpoint" || kind == "NetworkSet" || kind == "ServiceAccount";
}

absl::StatusOr<std::vector<std::string>> SplitDocuments(std::string_view text) {
  return internal::SplitDocuments(text, Options().max_document_bytes);
}

Store::Store(sqlite3* db, int lock_fd, std::string dir, Options options)
    : db_(db), lock_fd_(lock_fd), dir_(std::move(dir)), options_(std::move(options)) {}

Store::~Store() {
  // Closing the last connection checkpoints the WAL into the database file.
  sqlite3_close_v2(db_);
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir, Options options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("store: cannot create ", dir, ": ", ec.message()));

  // Two daemons on one state dir would interleave revisions; SQLite's own
  // locking keeps the file sane but not that. flock dies with the process,
  // so a kill -9 never leaves a stale lock.
  std::string lock_path = (fs::path(dir) / kLockFile).string();
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("store: cannot open ", lock_path, ": ", strerror(errno)));
  }
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return absl::FailedPreconditionError(
        absl::StrCat("store: state dir ", dir, " is in use by another process"));
  }

  std::string db_path = (fs::path(dir) / kDbFile).string();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    absl::Status s = SqlError(db, absl::StrCat("open ", db_path));
    sqlite3_close_v2(db);
    close(lock_fd);
    return s;
  }
  std::unique_ptr<Store> store(new Store(db, lock_fd, dir, std::move(options)));

  {
    Stmt wal(db, "PRAGMA journal_mode = WAL");
    absl::StatusOr<bool> row = wal.Step();
    if (!row.ok()) return row.status();
    if (!*row || wal.Text(0) != "wal") {
      return absl::FailedPreconditionError("store: cannot switch the database to WAL mode");
    }
  }
  TWS_RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous = FULL"));
  TWS_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys = ON"));
  sqlite3_busy_timeout(db, 5000);

  Stmt version(db, "PRAGMA user_version");
  absl::StatusOr<bool> row = version.Step();
  if (!row.ok()) return row.status();
  int64_t schema = *row ? version.Int(0) : 0;
  if (schema > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store: database schema ", schema, " is newer than this binary's ", kSchemaVersion));
  }
  if (schema == 0) {
    Transaction txn(db);
    TWS_RETURN_IF_ERROR(txn.Begin());
    TWS_RETURN_IF_ERROR(Exec(db, kSchema));
    TWS_RETURN_IF_ERROR(Exec(db, "PRAGMA user_version = 1"));
    TWS_RETURN_IF_ERROR(txn.Commit());
  }

  std::lock_guard<std::mutex> lock(store->mu_);
  if (absl::Status integrity = store->CheckIntegrityLocked(); !integrity.ok()) {
    if (!store->options_.recover) return integrity;
    TWS_RETURN_IF_ERROR(store->RecoverLocked(std::string(integrity.message())));
    store->recovered_ = std::string(integrity.message());
  }
  return store;
}

absl::Status Store::CheckIntegrityLocked() {
  absl::StatusOr<int64_t> revision = ReadRevision(db_);
  const std::string at =
      revision.ok() ? absl::StrCat(" (the store is at revision ", *revision, ")") : "";
  {
    Stmt check(db_, "PRAGMA integrity_check");
    absl::StatusOr<bool> row = check.Step();
    if (!row.ok() || !*row || check.Text(0) != "ok") {
      std::string what = !row.ok() ? std::string(row.status().message())
                         : *row    ? check.Text(0)
                                   : "no answer";
      return absl::DataLossError(
          absl::StrCat("store integrity: the database file is damaged: ", what, at));
    }
  }
  if (!revision.ok()) return revision.status();
  if (absl::Status s = VerifyAuditLocked(/*check_counter=*/true); !s.ok()) {
    return absl::DataLossError(absl::StrCat("store integrity: ", s.message(), at));
  }
  TWS_RETURN_IF_ERROR(CheckRowsAgainstAuditLocked());
  return CheckHeadLocked();
}

absl::Status Store::CheckRowsAgainstAuditLocked() {
  absl::StatusOr<std::vector<AuditRecord>> records = ReadAudit(db_, 0, 0);
  if (!records.ok()) return records.status();
  std::map<Identity, const AuditRecord*> last;
  std::map<std::pair<Identity, int64_t>, const AuditRecord*> by_version;
  for (const AuditRecord& r : *records) {
    if (r.verb == kRecoverVerb) continue;
    last[r.identity] = &r;
    by_version[{r.identity, r.revision}] = &r;
  }
  auto changed = [](const std::string& what, const AuditRecord& r) {
    return absl::DataLossError(absl::StrCat("store integrity: ", what, " is not what audit record ",
                                            r.seq, " of revision ", r.revision,
                                            " wrote: the database was changed outside tierwalld"));
  };

  std::map<int64_t, Identity> ids;
  {
    Stmt s(db_, "SELECT id, kind, namespace, name, revision, yaml, deleted FROM resources");
    while (true) {
      absl::StatusOr<bool> row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      Identity id{s.Text(1), s.Text(2), s.Text(3)};
      ids[s.Int(0)] = id;
      auto it = last.find(id);
      if (it == last.end()) {
        return absl::DataLossError(
            absl::StrCat("store integrity: ", id.ToString(), " (revision ", s.Int(4),
                         ") has no audit record: the database was changed outside tierwalld"));
      }
      const AuditRecord& r = *it->second;
      const bool deleted = s.Int(6) != 0;
      if (s.Int(4) != r.revision || deleted != !r.after_yaml ||
          (!deleted && s.Text(5) != *r.after_yaml)) {
        return changed(absl::StrCat(id.ToString(), " at revision ", s.Int(4)), r);
      }
      last.erase(it);
    }
  }
  if (!last.empty()) {
    const AuditRecord& r = *last.begin()->second;
    return changed(absl::StrCat(r.identity.ToString(), " (missing from the resources table)"), r);
  }

  Stmt s(db_, "SELECT resource_id, revision, verb, yaml, time, user FROM versions");
  while (true) {
    absl::StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto id = ids.find(s.Int(0));
    auto it = id == ids.end() ? by_version.end() : by_version.find({id->second, s.Int(1)});
    if (it == by_version.end()) {
      return absl::DataLossError(
          absl::StrCat("store integrity: a version of revision ", s.Int(1),
                       " has no audit record: the database was changed outside tierwalld"));
    }
    const AuditRecord& r = *it->second;
    if (s.Text(2) != r.verb || s.OptText(3) != r.after_yaml || s.Text(4) != r.time ||
        s.Text(5) != r.user) {
      return changed(absl::StrCat("version ", r.revision, " of ", r.identity.ToString()), r);
    }
    by_version.erase(it);
  }
  if (!by_version.empty()) {
    const AuditRecord& r = *by_version.begin()->second;
    return changed(absl::StrCat("version ", r.revision, " of ", r.identity.ToString(),
                                " (missing from the versions table)"),
                   r);
  }
  return absl::OkStatus();
}

absl::Status Store::CheckHeadLocked() {
  const std::string path = (std::filesystem::path(dir_) / kHeadFile).string();
  absl::StatusOr<std::optional<std::pair<int64_t, std::string>>> head = ReadHead(path);
  if (!head.ok()) return head.status();
  absl::StatusOr<std::pair<int64_t, std::string>> last = LastRecord(db_);
  if (!last.ok()) return last.status();
  const auto& [db_revision, db_hash] = *last;
  if (!*head) {
    if (db_revision == 0) return WriteHeadLocked();  // a new store
    return absl::DataLossError(
        absl::StrCat("store integrity: the chain head file ", path,
                     " is missing but the database is at revision ", db_revision,
                     ": whether acknowledged revisions were lost cannot be checked"));
  }
  const auto& [head_revision, head_hash] = **head;
  if (head_revision == db_revision && head_hash == db_hash) return absl::OkStatus();
  if (head_revision + 1 == db_revision) {
    // A crash between a commit and its head write: the database must extend
    // the acknowledged head exactly.
    Stmt s(db_, "SELECT hash FROM audit WHERE revision = ?1 ORDER BY seq DESC LIMIT 1");
    s.Bind(1, head_revision);
    absl::StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    const std::string hash = *row ? s.Text(0) : kZeroHash;
    if (hash == head_hash) return WriteHeadLocked();
  }
  if (head_revision > db_revision) {
    return absl::DataLossError(
        absl::StrCat("store integrity: acknowledged revision ", head_revision,
                     " is missing: the chain head file says revision ", head_revision, " (hash ",
                     ShortHash(head_hash), ") but the database ends at revision ", db_revision,
                     " (hash ", ShortHash(db_hash),
                     "): it was rolled back (a lost or damaged write-ahead log, an old copy)"));
  }
  return absl::DataLossError(
      absl::StrCat("store integrity: the database's revision ", db_revision, " (hash ",
                   ShortHash(db_hash), ") does not extend acknowledged revision ", head_revision,
                   " (hash ", ShortHash(head_hash), ") that the chain head file names"));
}

absl::Status Store::WriteHeadLocked() {
  absl::StatusOr<std::pair<int64_t, std::string>> last = LastRecord(db_);
  if (!last.ok()) return last.status();
  return WriteFileAtomically(dir_, (std::filesystem::path(dir_) / kHeadFile).string(),
                             absl::StrCat(last->first, " ", last->second, "\n"));
}

absl::Status Store::RecoverLocked(const std::string& problem) {
  Transaction txn(db_);
  TWS_RETURN_IF_ERROR(txn.Begin());
  // Indexes are derived data: rebuilding them repairs what integrity_check
  // finds there.
  TWS_RETURN_IF_ERROR(Exec(db_, "REINDEX"));
  absl::StatusOr<std::vector<AuditRecord>> records = ReadAudit(db_, 0, 0);
  if (!records.ok()) return records.status();
  // Records cut off the end leave the chain itself intact: what is left of it
  // is still the truth.
  const bool chain_ok = VerifyAuditLocked(/*check_counter=*/false).ok();
  std::string action = "the database kept as it is (the audit chain does not verify)";
  if (chain_ok) {
    action = "resources and versions rebuilt from the audit chain";
    // The last record of each identity is its state; versions are one per
    // record.
    std::map<Identity, const AuditRecord*> last;
    for (const AuditRecord& r : *records) {
      if (r.verb != kRecoverVerb) last[r.identity] = &r;
    }
    TWS_RETURN_IF_ERROR(Exec(db_, "DELETE FROM versions"));
    {
      // Rows no record wrote go; the rest are rewritten from their records.
      std::vector<int64_t> unaudited;
      Stmt rows(db_, "SELECT id, kind, namespace, name FROM resources");
      while (true) {
        absl::StatusOr<bool> row = rows.Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        if (!last.contains(Identity{rows.Text(1), rows.Text(2), rows.Text(3)})) {
          unaudited.push_back(rows.Int(0));
        }
      }
      for (int64_t id : unaudited) {
        Stmt drop(db_, "DELETE FROM resources WHERE id = ?1");
        drop.Bind(1, id);
        TWS_RETURN_IF_ERROR(drop.Run());
      }
    }
    for (const auto& [id, r] : last) {
      Stmt update(db_,
                  "UPDATE resources SET revision = ?1, yaml = COALESCE(?2, yaml), deleted = ?3 "
                  "WHERE kind = ?4 AND namespace = ?5 AND name = ?6");
      update.Bind(1, r->revision).BindOpt(2, r->after_yaml);
      update.Bind(3, int64_t{r->after_yaml ? 0 : 1});
      update.Bind(4, id.kind).Bind(5, id.namespace_).Bind(6, id.name);
      TWS_RETURN_IF_ERROR(update.Run());
      if (sqlite3_changes(db_) == 0) {
        Stmt insert(db_,
                    "INSERT INTO resources (kind, namespace, name, revision, yaml, deleted) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        insert.Bind(1, id.kind).Bind(2, id.namespace_).Bind(3, id.name).Bind(4, r->revision);
        insert.Bind(5, r->after_yaml.value_or(r->before_yaml.value_or("")));
        insert.Bind(6, int64_t{r->after_yaml ? 0 : 1});
        TWS_RETURN_IF_ERROR(insert.Run());
      }
    }
    for (const AuditRecord& r : *records) {
      if (r.verb == kRecoverVerb) continue;
      Stmt version(db_,
                   "INSERT INTO versions (resource_id, revision, verb, yaml, time, user) "
                   "SELECT id, ?1, ?2, ?3, ?4, ?5 FROM resources "
                   "WHERE kind = ?6 AND namespace = ?7 AND name = ?8");
      version.Bind(1, r.revision).Bind(2, r.verb).BindOpt(3, r.after_yaml).Bind(4, r.time);
      version.Bind(5, r.user).Bind(6, r.identity.kind).Bind(7, r.identity.namespace_);
      version.Bind(8, r.identity.name);
      TWS_RETURN_IF_ERROR(version.Run());
    }
  }

  absl::StatusOr<int64_t> current = ReadRevision(db_);
  if (!current.ok()) return current.status();
  AuditRecord rec;
  rec.seq = records->empty() ? 1 : records->back().seq + 1;
  rec.revision = std::max(*current, records->empty() ? 0 : records->back().revision) + 1;
  rec.time =
      Rfc3339(options_.now_unix_millis ? options_.now_unix_millis()
                                       : std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  rec.user = options_.recover_user;
  rec.verb = kRecoverVerb;
  rec.identity = {"Store", "", kDbFile};
  rec.after_yaml = absl::StrCat("found: ", problem, "\naction: ", action, "\n");
  rec.prev_hash = records->empty() ? kZeroHash : records->back().hash;
  rec.hash = RecordHash(rec);
  Stmt audit(db_,
             "INSERT INTO audit (seq, revision, time, user, verb, kind, namespace, name, "
             "before_yaml, after_yaml, prev_hash, hash) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  audit.Bind(1, rec.seq).Bind(2, rec.revision).Bind(3, rec.time).Bind(4, rec.user);
  audit.Bind(5, rec.verb).Bind(6, rec.identity.kind).Bind(7, rec.identity.namespace_);
  audit.Bind(8, rec.identity.name).BindOpt(9, rec.before_yaml).BindOpt(10, rec.after_yaml);
  audit.Bind(11, rec.prev_hash).Bind(12, rec.hash);
  TWS_RETURN_IF_ERROR(audit.Run());
  Stmt bump(db_, "UPDATE meta SET value = ?1 WHERE key = 'revision'");
  bump.Bind(1, rec.revision);
  TWS_RETURN_IF_ERROR(bump.Run());
  TWS_RETURN_IF_ERROR(txn.Commit());
  return WriteHeadLocked();
}

absl::StatusOr<int64_t> Store::Commit(const Change& change, std::vector<Identity>* unchanged) {
  std::lock_guard<std::mutex> lock(mu_);
  return CommitLocked(change, /*dry_run=*/false, unchanged);
}

absl::StatusOr<int64_t> Store::DryRun(const Change& change, std::vector<Identity>* unchanged) {
  std::lock_guard<std::mutex> lock(mu_);
  return CommitLocked(change, /*dry_run=*/true, unchanged);
}

absl::StatusOr<int64_t> Store::CommitLocked(const Change& change, bool dry_run,
                                            std::vector<Identity>* unchanged) {
  if (unchanged) unchanged->clear();
  if (change.mutations.empty()) return absl::InvalidArgumentError("empty change: no documents");
  if (change.user.empty()) return absl::InvalidArgumentError("change without a user");

  // Parse everything first: a bad document fails the batch before any row
  // is touched (the transaction would undo it anyway).
  struct Planned {
    Verb verb;
    Identity id;
    std::optional<std::string> yaml;  // canonical; nullopt for deletions
    std::optional<int64_t> expected;
  };
  std::vector<Planned> plan;
  std::set<Identity> seen;
  for (size_t i = 0; i < change.mutations.size(); ++i) {
    const Mutation& m = change.mutations[i];
    std::string where = absl::StrCat("doc ", i + 1);
    Planned p{m.verb, {}, std::nullopt, m.expected_revision};
    if (m.yaml.empty() && m.verb == Verb::kDelete && m.identity) {
      p.id = *m.identity;
      if (p.id.kind.empty() || p.id.name.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": identity without kind or name"));
      }
    } else {
      absl::StatusOr<internal::ParsedDocument> doc =
          internal::ParseDocument(m.yaml, options_.max_document_bytes);
      if (!doc.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", doc.status().message()));
      }
      if (m.identity && *m.identity != doc->identity) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": document is ", doc->identity.ToString(), ", not ", m.identity->ToString()));
      }
      if (doc->resource_version && p.expected && *doc->resource_version != *p.expected) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": metadata.resourceVersion ", *doc->resource_version,
                         " contradicts the requested resource version ", *p.expected));
      }
      if (doc->resource_version) p.expected = doc->resource_version;
      p.id = std::move(doc->identity);
      if (m.verb != Verb::kDelete) p.yaml = std::move(doc->canonical_yaml);
    }
    if (!seen.insert(p.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", p.id.ToString(), " appears twice in one change"));
    }
    plan.push_back(std::move(p));
  }

  Transaction txn(db_);
  TWS_RETURN_IF_ERROR(txn.Begin());
  absl::StatusOr<int64_t> current = ReadRevision(db_);
  if (!current.ok()) return current.status();
  const int64_t revision = *current + 1;
  const std::string time =
      Rfc3339(options_.now_unix_millis ? options_.now_unix_millis()
                                       : std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());

  int64_t seq = 0;
  std::string prev_hash = kZeroHash;
  {
    Stmt last(db_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    absl::StatusOr<bool> row = last.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      seq = last.Int(0);
      prev_hash = last.Text(1);
    }
  }

  size_t written = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    const Planned& p = plan[i];
    std::string where = absl::StrCat("doc ", i + 1, ": ", p.id.ToString());
    Stmt find(db_,
              "SELECT id, revision, yaml, deleted FROM resources "
              "WHERE kind = ?1 AND namespace = ?2 AND name = ?3");
    find.Bind(1, p.id.kind).Bind(2, p.id.namespace_).Bind(3, p.id.name);
    absl::StatusOr<bool> found = find.Step();
    if (!found.ok()) return found.status();
    const bool exists = *found;
    const bool live = exists && find.Int(3) == 0;
    const int64_t resource_id = exists ? find.Int(0) : 0;
    const int64_t resource_revision = exists ? find.Int(1) : 0;
    std::optional<std::string> before;
    if (live) before = find.Text(2);

    if (p.verb == Verb::kCreate && live) {
      return absl::AlreadyExistsError(
          absl::StrCat(where, " already exists (revision ", resource_revision, ")"));
    }
    if ((p.verb == Verb::kReplace || p.verb == Verb::kDelete) && !live) {
      return absl::NotFoundError(absl::StrCat(where, " does not exist"));
    }
    if (p.expected) {
      if (!live) {
        return absl::AbortedError(absl::StrCat(where, ": resourceVersion ", *p.expected,
                                               " given but the resource does not exist"));
      }
      if (*p.expected != resource_revision) {
        return absl::AbortedError(absl::StrCat(where, ": resourceVersion ", *p.expected,
                                               " is stale: the current one is ",
                                               resource_revision));
      }
    }

    // Writing what is already there changes nothing: no version, no audit
    // record (kubectl's "unchanged"). The checks above still apply.
    if (live && p.yaml && before == *p.yaml) {
      if (unchanged) unchanged->push_back(p.id);
      continue;
    }
    ++written;

    int64_t rid = resource_id;
    if (exists) {
      Stmt update(db_,
                  "UPDATE resources SET revision = ?1, yaml = COALESCE(?2, yaml), deleted = ?3 "
                  "WHERE id = ?4");
      update.Bind(1, revision).BindOpt(2, p.yaml).Bind(3, int64_t{p.yaml ? 0 : 1}).Bind(4, rid);
      TWS_RETURN_IF_ERROR(update.Run());
    } else {
      Stmt insert(db_,
                  "INSERT INTO resources (kind, namespace, name, revision, yaml, deleted) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, 0)");
      insert.Bind(1, p.id.kind).Bind(2, p.id.namespace_).Bind(3, p.id.name).Bind(4, revision);
      insert.Bind(5, *p.yaml);
      TWS_RETURN_IF_ERROR(insert.Run());
      rid = sqlite3_last_insert_rowid(db_);
    }
    Stmt version(db_,
                 "INSERT INTO versions (resource_id, revision, verb, yaml, time, user) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    version.Bind(1, rid).Bind(2, revision).Bind(3, VerbName(p.verb)).BindOpt(4, p.yaml);
    version.Bind(5, time).Bind(6, change.user);
    TWS_RETURN_IF_ERROR(version.Run());

    AuditRecord rec;
    rec.seq = ++seq;
    rec.revision = revision;
    rec.time = time;
    rec.user = change.user;
    rec.verb = std::string(VerbName(p.verb));
    rec.identity = p.id;
    rec.before_yaml = before;
    rec.after_yaml = p.yaml;
    rec.prev_hash = prev_hash;
    rec.hash = RecordHash(rec);
    if (rec.hash.empty()) return absl::InternalError("store: SHA-256 failed");
    Stmt audit(db_,
               "INSERT INTO audit (seq, revision, time, user, verb, kind, namespace, name, "
               "before_yaml, after_yaml, prev_hash, hash) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    audit.Bind(1, rec.seq).Bind(2, rec.revision).Bind(3, rec.time).Bind(4, rec.user);
    audit.Bind(5, rec.verb).Bind(6, rec.identity.kind).Bind(7, rec.identity.namespace_);
    audit.Bind(8, rec.identity.name).BindOpt(9, rec.before_yaml).BindOpt(10, rec.after_yaml);
    audit.Bind(11, rec.prev_hash).Bind(12, rec.hash);
    TWS_RETURN_IF_ERROR(audit.Run());
    prev_hash = rec.hash;
  }

  if (written == 0) return *current;  // nothing to change: no new revision
  Stmt bump(db_, "UPDATE meta SET value = ?1 WHERE key = 'revision'");
  bump.Bind(1, revision);
  TWS_RETURN_IF_ERROR(bump.Run());

  if (options_.validate) {
    absl::StatusOr<std::string> state = StateYaml(db_);
    if (!state.ok()) return state.status();
    TWS_RETURN_IF_ERROR(options_.validate(*state));
  }
  if (dry_run) return revision;  // the Transaction rolls back
  TWS_RETURN_IF_ERROR(txn.Commit());
  // The head outside the database is what shows, at the next start, that
  // this acknowledged revision is still there.
  if (absl::Status s = WriteHeadLocked(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("revision ", revision,
                                               " is committed but the chain head file was not "
                                               "written: ",
                                               s.message()));
  }
  return revision;
}

absl::StatusOr<int64_t> Store::Rollback(const Identity& id, int64_t revision,
                                        const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::string> yaml = ExistingVersionLocked(id, revision);
  if (!yaml.ok()) return yaml.status();
  Change change{user, {Mutation{Verb::kRollback, *yaml, id, std::nullopt}}};
  return CommitLocked(change, /*dry_run=*/false, nullptr);
}

absl::StatusOr<int64_t> Store::CurrentRevision() {
  std::lock_guard<std::mutex> lock(mu_);
  return ReadRevision(db_);
}

absl::StatusOr<Resource> Store::Get(const Identity& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT revision, yaml FROM resources "
         "WHERE kind = ?1 AND namespace = ?2 AND name = ?3 AND deleted = 0");
  s.Bind(1, id.kind).Bind(2, id.namespace_).Bind(3, id.name);
  absl::StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat(id.ToString(), " does not exist"));
  Resource r{id, s.Int(0), ""};
  absl::StatusOr<std::string> yaml = internal::WithResourceVersion(s.Text(1), r.revision);
  if (!yaml.ok()) return yaml.status();
  r.yaml = std::move(*yaml);
  return r;
}

absl::StatusOr<std::vector<Resource>> Store::List(std::string_view kind,
                                                  std::string_view namespace_) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT kind, namespace, name, revision, yaml FROM resources "
         "WHERE deleted = 0 AND (?1 = '' OR kind = ?1) AND (?2 = '' OR namespace = ?2) "
         "ORDER BY kind, namespace, name");
  s.Bind(1, kind).Bind(2, namespace_);
  std::vector<Resource> out;
  while (true) {
    absl::StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Resource r{{s.Text(0), s.Text(1), s.Text(2)}, s.Int(3), ""};
    absl::StatusOr<std::string> yaml = internal::WithResourceVersion(s.Text(4), r.revision);
    if (!yaml.ok()) return yaml.status();
    r.yaml = std::move(*yaml);
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::string> Store::CurrentYaml() {
  absl::StatusOr<Snapshot> snap = CurrentSnapshot();
  if (!snap.ok()) return snap.status();
  return std::move(snap->yaml);
}

absl::StatusOr<Snapshot> Store::CurrentSnapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  // One read transaction, so the revision and the text agree.
  Exec(db_, "BEGIN").IgnoreError();
  absl::StatusOr<int64_t> rev = ReadRevision(db_);
  absl::StatusOr<std::string> yaml = StateYaml(db_);
  Exec(db_, "COMMIT").IgnoreError();
  if (!rev.ok()) return rev.status();
  if (!yaml.ok()) return yaml.status();
  return Snapshot{*rev, std::move(*yaml)};
}

absl::StatusOr<std::vector<HistoryEntry>> Store::History(const Identity& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT v.revision, v.time, v.user, v.verb FROM versions v "
         "JOIN resources r ON r.id = v.resource_id "
         "WHERE r.kind = ?1 AND r.namespace = ?2 AND r.name = ?3 ORDER BY v.revision");
  s.Bind(1, id.kind).Bind(2, id.namespace_).Bind(3, id.name);
  std::vector<HistoryEntry> out;
  while (true) {
    absl::StatusOr<bool> row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3)});
  }
  if (out.empty()) return absl::NotFoundError(absl::StrCat(id.ToString(), " has no history"));
  return out;
}

absl::StatusOr<std::string> Store::VersionAtLocked(const Identity& id, int64_t revision,
                                                   bool* exists) {
  *exists = false;
  Stmt s(db_,
         "SELECT v.yaml FROM versions v JOIN resources r ON r.id = v.resource_id "
         "WHERE r.kind = ?1 AND r.namespace = ?2 AND r.name = ?3 AND v.revision <= ?4 "
         "ORDER BY v.revision DESC LIMIT 1");
  s.Bind(1, id.kind).Bind(2, id.namespace_).Bind(3, id.name).Bind(4, revision);
  absl::StatusOr<bool> row = s.Step();
  if (!row.ok()) return row.status();
  if (!*row || s.IsNull(0)) return std::string();
  *exists = true;
  return s.Text(0);
}

absl::StatusOr<std::string> Store::VersionAt(const Identity& id, int64_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  return ExistingVersionLocked(id, revision);
}

absl::StatusOr<std::string> Store::ExistingVersionLocked(const Identity& id, int64_t revision) {
  bool exists = false;
  absl::StatusOr<std::string> yaml = VersionAtLocked(id, revision, &exists);
  if (!yaml.ok()) return yaml.status();
  if (!exists) {
    return absl::NotFoundError(
        absl::StrCat(id.ToString(), " did not exist at revision ", revision));
  }
  return yaml;
}

absl::StatusOr<std::string> Store::Diff(const Identity& id, int64_t from_revision,
                                        std::optional<int64_t> to_revision) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<int64_t> current = ReadRevision(db_);
  if (!current.ok()) return current.status();
  const int64_t to = to_revision.value_or(*current);
  for (int64_t r : {from_revision, to}) {
    if (r < 0 || r > *current) {
      return absl::InvalidArgumentError(
          absl::StrCat("revision ", r, " out of range (current is ", *current, ")"));
    }
  }
  bool from_exists = false, to_exists = false;
  absl::StatusOr<std::string> a = VersionAtLocked(id, from_revision, &from_exists);
  if (!a.ok()) return a.status();
  absl::StatusOr<std::string> b = VersionAtLocked(id, to, &to_exists);
  if (!b.ok()) return b.status();
  if (!from_exists && !to_exists) {
    return absl::NotFoundError(
        absl::StrCat(id.ToString(), " exists at neither revision ", from_revision, " nor ", to));
  }
  if (*a == *b) return std::string();
  std::vector<std::string> old_lines = Lines(*a), new_lines = Lines(*b);
  dtl::Diff<std::string, std::vector<std::string>> diff(old_lines, new_lines);
  diff.compose();
  diff.composeUnifiedHunks();
  std::ostringstream out;
  out << "--- " << id.ToString() << "@" << from_revision << "\n";
  out << "+++ " << id.ToString() << "@" << to << "\n";
  diff.printUnifiedFormat(out);
  return out.str();
}

absl::StatusOr<std::vector<AuditRecord>> Store::Audit(int64_t after_seq, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  return ReadAudit(db_, after_seq, limit);
}

absl::Status Store::VerifyAudit() {
  // One lock for the records and the counter: a commit in between would look
  // like a cut tail.
  std::lock_guard<std::mutex> lock(mu_);
  return VerifyAuditLocked(/*check_counter=*/true);
}

absl::Status Store::VerifyAuditLocked(bool check_counter) {
  absl::StatusOr<std::vector<AuditRecord>> records = ReadAudit(db_, 0, 0);
  if (!records.ok()) return records.status();
  std::string prev = kZeroHash;
  int64_t expected_seq = 1, last_revision = 0;
  for (const AuditRecord& r : *records) {
    if (r.seq != expected_seq) {
      return absl::DataLossError(
          absl::StrCat("audit: record ", expected_seq, " is missing (next is ", r.seq, ")"));
    }
    if (r.prev_hash != prev) {
      return absl::DataLossError(absl::StrCat(
          "audit: record ", r.seq, ": prev_hash does not match the hash of record ", r.seq - 1));
    }
    if (RecordHash(r) != r.hash) {
      return absl::DataLossError(
          absl::StrCat("audit: record ", r.seq, ": hash mismatch (the record was altered)"));
    }
    if (r.revision < last_revision) {
      return absl::DataLossError(absl::StrCat("audit: record ", r.seq, ": revision goes back"));
    }
    last_revision = r.revision;
    prev = r.hash;
    ++expected_seq;
  }
  if (!check_counter) return absl::OkStatus();
  // Every revision writes audit records, so the counter and the last record
  // agree unless whole records were cut off the end (or the counter edited).
  absl::StatusOr<int64_t> current = ReadRevision(db_);
  if (!current.ok()) return current.status();
  if (*current != last_revision) {
    return absl::DataLossError(absl::StrCat("audit: the store is at revision ", *current,
                                            " but the last audit record is for revision ",
                                            last_revision));
  }
  return absl::OkStatus();
}

}  // namespace tierwall::ctl::store
