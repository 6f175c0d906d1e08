package staff

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Store keeps staff accounts and their audit in PostgreSQL.
type Store struct {
	db *sqlx.DB
	// MaxFailures consecutive failed sign-ins lock an account for LockFor.
	// A successful sign-in, or a new password, clears the count.
	MaxFailures int
	LockFor     time.Duration
}

// Defaults of the account lockout.
const (
	DefaultMaxFailures = 5
	DefaultLockFor     = 15 * time.Minute
)

// NewStore returns a store on db with the default lockout.
func NewStore(db *sqlx.DB) *Store {
	return &Store{db: db, MaxFailures: DefaultMaxFailures, LockFor: DefaultLockFor}
}

// DB returns the store's database handle (the session store shares it).
func (s *Store) DB() *sqlx.DB { return s.db }

// Errors of signing in. Unknown account, wrong password and disabled
// account give the same ErrBadCredentials, so that the answer does not
// tell which usernames exist or which are disabled.
var (
	ErrBadCredentials = enrollment.Errorf(enrollment.CodeUnauthorized,
		"Tên đăng nhập hoặc mật khẩu không đúng",
		"Wrong username or password")
	// ErrNoAccount is returned by the account commands for a username
	// that has no account.
	ErrNoAccount = errors.New("no such staff account")
	// ErrAccountExists is returned by Add for a username already taken.
	ErrAccountExists = errors.New("a staff account with this username exists")
)

// lockedError is the answer while an account is locked: 429 with the time
// left.
func lockedError(left time.Duration) *enrollment.Error {
	mins := max(1, int((left+time.Minute-1)/time.Minute))
	return &enrollment.Error{Code: enrollment.CodeTooMany,
		Message:    fmt.Sprintf("Tài khoản tạm khoá do đăng nhập sai nhiều lần. Vui lòng thử lại sau %d phút", mins),
		MessageEN:  fmt.Sprintf("This account is locked after too many failed sign-ins. Please try again in %d minutes", mins),
		RetryAfter: max(time.Second, left.Round(time.Second))}
}

// Event is one entry of the staff audit.
type Event struct {
	Username string    `db:"username"`
	Role     string    `db:"role"`
	Action   string    `db:"action"`
	Detail   string    `db:"detail"`
	Address  string    `db:"address"`
	At       time.Time `db:"at"`
}

// Audit actions.
const (
	ActionLogin          = "login"
	ActionLoginFailed    = "login_failed"
	ActionLoginLocked    = "login_refused_locked"
	ActionLocked         = "locked"
	ActionLogout         = "logout"
	ActionAdded          = "account_added"
	ActionPasswordChange = "password_changed"
	ActionDisabled       = "account_disabled"
	ActionDemoSeeded     = "demo_account_seeded"
)

const qRecord = `INSERT INTO staff_events (username, role, action, detail, address) VALUES ($1, $2, $3, $4, $5)`

// Record writes one audit event.
func (s *Store) Record(ctx context.Context, ev Event) error {
	if _, err := s.db.ExecContext(ctx, qRecord, ev.Username, ev.Role, ev.Action, ev.Detail, ev.Address); err != nil {
		return fmt.Errorf("record staff event %s: %w", ev.Action, err)
	}
	return nil
}

// Events returns the audit of one username, oldest first.
func (s *Store) Events(ctx context.Context, username string) ([]Event, error) {
	const q = `SELECT username, role, action, detail, address, at FROM staff_events WHERE username = $1 ORDER BY id`
	var evs []Event
	if err := s.db.SelectContext(ctx, &evs, q, username); err != nil {
		return nil, fmt.Errorf("staff events of %s: %w", username, err)
	}
	return evs, nil
}

type userRow struct {
	Username    string       `db:"username"`
	Hash        string       `db:"password_hash"`
	Role        Role         `db:"role"`
	Scope       string       `db:"scope"`
	Name        string       `db:"name"`
	Disabled    bool         `db:"disabled"`
	LockedUntil sql.NullTime `db:"locked_until"`
	Now         time.Time    `db:"now"`
}

func (r userRow) user() User {
	sum := sha256.Sum256([]byte(r.Hash))
	return User{Username: r.Username, Role: r.Role, Scope: r.Scope, Name: r.Name, Disabled: r.Disabled,
		Stamp: hex.EncodeToString(sum[:8])}
}

const qUser = `
SELECT username, password_hash, role, scope, name, disabled_at IS NOT NULL AS disabled, locked_until, now() AS now
FROM staff_users WHERE username = $1`

// User returns the account username, disabled or not, or ErrNoAccount.
func (s *Store) User(ctx context.Context, username string) (User, error) {
	var r userRow
	if err := s.db.GetContext(ctx, &r, qUser, username); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, ErrNoAccount
		}
		return User{}, fmt.Errorf("staff account %s: %w", username, err)
	}
	return r.user(), nil
}

// Login checks a sign-in from the client address and audits it. It returns
// the user, ErrBadCredentials (unknown account, wrong password or disabled
// account alike, each taking one password hash to answer), or a
// CodeTooMany *enrollment.Error with RetryAfter while the account is locked.
// The MaxFailures-th consecutive wrong password locks the account for
// LockFor; it is itself answered ErrBadCredentials, and the attempts that
// follow while the lock lasts are refused without looking at the password.
// The password is never recorded.
func (s *Store) Login(ctx context.Context, username, password, address string) (User, error) {
	var r userRow
	err := sql.ErrNoRows // a name no account can have is not looked up
	if CheckUsername(username) == nil {
		err = s.db.GetContext(ctx, &r, qUser, username)
	}
	if errors.Is(err, sql.ErrNoRows) {
		matchPassword(password, dummyHash())
		return User{}, s.failed(ctx, Event{Username: auditName(username), Action: ActionLoginFailed,
			Detail: "unknown account", Address: address})
	}
	if err != nil {
		return User{}, fmt.Errorf("sign in %s: %w", username, err)
	}
	ev := Event{Username: r.Username, Role: string(r.Role), Address: address}
	if r.LockedUntil.Valid && r.LockedUntil.Time.After(r.Now) {
		ev.Action = ActionLoginLocked
		if err := s.Record(ctx, ev); err != nil {
			return User{}, err
		}
		return User{}, lockedError(r.LockedUntil.Time.Sub(r.Now))
	}
	if !matchPassword(password, r.Hash) {
		return User{}, s.wrongPassword(ctx, ev)
	}
	if r.Disabled {
		ev.Action, ev.Detail = ActionLoginFailed, "account disabled"
		return User{}, s.failed(ctx, ev)
	}
	const qOK = `UPDATE staff_users SET failed_logins = 0, locked_until = NULL WHERE username = $1`
	if _, err := s.db.ExecContext(ctx, qOK, r.Username); err != nil {
		return User{}, fmt.Errorf("sign in %s: %w", username, err)
	}
	ev.Action = ActionLogin
	if err := s.Record(ctx, ev); err != nil {
		return User{}, err
	}
	return r.user(), nil
}

// failed records a failed sign-in and returns ErrBadCredentials.
func (s *Store) failed(ctx context.Context, ev Event) error {
	if err := s.Record(ctx, ev); err != nil {
		return err
	}
	return ErrBadCredentials
}

// wrongPassword counts a wrong password, in one statement so that
// simultaneous attempts are all counted, and locks the account at
// MaxFailures.
func (s *Store) wrongPassword(ctx context.Context, ev Event) error {
	const q = `
UPDATE staff_users SET
    failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
    locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + make_interval(secs => $3) ELSE locked_until END
WHERE username = $1
RETURNING COALESCE(locked_until > now(), false)`
	var locked bool
	if err := s.db.GetContext(ctx, &locked, q, ev.Username, s.MaxFailures, s.LockFor.Seconds()); err != nil {
		return fmt.Errorf("count failed sign-in of %s: %w", ev.Username, err)
	}
	ev.Action, ev.Detail = ActionLoginFailed, "wrong password"
	if err := s.Record(ctx, ev); err != nil {
		return err
	}
	if locked {
		ev.Action, ev.Detail = ActionLocked, fmt.Sprintf("%d consecutive failed sign-ins; locked for %s", s.MaxFailures, s.LockFor)
		if err := s.Record(ctx, ev); err != nil {
			return err
		}
	}
	return ErrBadCredentials
}

// Add creates an account with the password hash, audited. The scope must
// name an existing authority for RoleAuthority, an existing school for
// RoleSchool, and be empty for RoleCity.
func (s *Store) Add(ctx context.Context, u User, hash string) error {
	if err := CheckUsername(u.Username); err != nil {
		return err
	}
	if err := s.checkScope(ctx, u.Role, u.Scope); err != nil {
		return err
	}
	const q = `INSERT INTO staff_users (username, password_hash, role, scope, name) VALUES ($1, $2, $3, $4, $5)`
	if _, err := s.db.ExecContext(ctx, q, u.Username, hash, u.Role, u.Scope, u.Name); err != nil {
		var pe *pq.Error
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("%s: %w", u.Username, ErrAccountExists)
		}
		return fmt.Errorf("add staff account %s: %w", u.Username, err)
	}
	return s.Record(ctx, Event{Username: u.Username, Role: string(u.Role), Action: ActionAdded,
		Detail: fmt.Sprintf("role %s, scope %q", u.Role, u.Scope)})
}

func (s *Store) checkScope(ctx context.Context, role Role, scope string) error {
	var q string
	switch role {
	case RoleCity:
		if scope != "" {
			return fmt.Errorf("role city takes no scope (it covers everything), got %q", scope)
		}
		return nil
	case RoleAuthority:
		q = `SELECT EXISTS (SELECT 1 FROM authorities WHERE code = $1)`
	case RoleSchool:
		q = `SELECT EXISTS (SELECT 1 FROM schools WHERE code = $1)`
	default:
		return fmt.Errorf("role %q: want city, authority or school", role)
	}
	if scope == "" {
		return fmt.Errorf("role %s needs a scope: the %s code", role, role)
	}
	var ok bool
	if err := s.db.GetContext(ctx, &ok, q, scope); err != nil {
		return fmt.Errorf("check scope %s: %w", scope, err)
	}
	if !ok {
		return fmt.Errorf("scope %q: no %s has this code", scope, role)
	}
	return nil
}

// SetPassword replaces an account's password hash and clears its lockout,
// audited. It returns ErrNoAccount for an unknown username.
func (s *Store) SetPassword(ctx context.Context, username, hash string) error {
	const q = `UPDATE staff_users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE username = $1 RETURNING role`
	return s.change(ctx, q, username, ActionPasswordChange, hash)
}

// Disable stops an account from signing in and ends its open sessions (at
// their next request), audited. It returns ErrNoAccount for an unknown
// username.
func (s *Store) Disable(ctx context.Context, username string) error {
	const q = `UPDATE staff_users SET disabled_at = COALESCE(disabled_at, now()) WHERE username = $1 RETURNING role`
	return s.change(ctx, q, username, ActionDisabled)
}

func (s *Store) change(ctx context.Context, q, username, action string, args ...any) error {
	var role string
	if err := s.db.GetContext(ctx, &role, q, append([]any{username}, args...)...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", username, ErrNoAccount)
		}
		return fmt.Errorf("%s %s: %w", action, username, err)
	}
	return s.Record(ctx, Event{Username: username, Role: role, Action: action})
}

// School returns the school code and its chain of authorities, nearest
// first, for Covers. It returns enrollment.CodeNotFound for an unknown
// school. The chain is followed to any depth (at most 16 levels, against a
// cycle entered by mistake).
func (s *Store) School(ctx context.Context, code string) (School, error) {
	const q = `
WITH RECURSIVE chain (code, parent_code, depth) AS (
    SELECT a.code, a.parent_code, 0
    FROM schools s JOIN wards w ON w.code = s.ward_code JOIN authorities a ON a.code = w.authority_code
    WHERE s.code = $1
  UNION ALL
    SELECT a.code, a.parent_code, c.depth + 1
    FROM authorities a JOIN chain c ON a.code = c.parent_code
    WHERE c.depth < 16
)
SELECT code FROM chain ORDER BY depth`
	var chain []string
	if err := s.db.SelectContext(ctx, &chain, q, code); err != nil {
		return School{}, fmt.Errorf("authorities of school %s: %w", code, err)
	}
	if len(chain) == 0 {
		return School{}, enrollment.Errorf(enrollment.CodeNotFound, "Không tìm thấy trường này", "No such school")
	}
	return School{Code: code, Authorities: chain}, nil
}

// DemoUsernames of the accounts SeedDemo creates: the city's, and one per
// ward and per school with the code appended.
const (
	DemoCityUsername = "admin"
	DemoWardPrefix   = "ward-"
	DemoSchoolPrefix = "school-"
)

// SeedDemo creates or resets the demo accounts, all with password: admin
// (city), ward-<WARD CODE> for every ward (an authority officer of the
// ward) and school-<SCHOOL CODE> for every school (its clerk). For the
// ward officers it first gives every ward that belongs directly to a
// larger authority an authority of its own (code = ward code, kind ward,
// parent = that larger authority) and points the ward at it; see the
// package comment. Running it again keeps the accounts, re-enables them,
// clears lockouts and sets the password again. It returns the number of
// accounts.
//
// The password is hashed once and the hash (with its one salt) is shared
// by every demo account: hashing 150 accounts apart would take seconds,
// and a shared salt only matters against someone holding the table and
// guessing many passwords, whereas these accounts all have the same,
// printed, password anyway. Real accounts (Add, SetPassword) get a salt
// each.
func (s *Store) SeedDemo(ctx context.Context, password string) (int, error) {
	hash, err := HashPassword(password)
	if err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("seed demo staff: %w", err)
	}
	defer tx.Rollback()
	const (
		qWardAuthorities = `
INSERT INTO authorities (code, name, kind, parent_code)
SELECT w.code, w.name, 'ward', w.authority_code FROM wards w
WHERE w.authority_code <> w.code
ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent_code = excluded.parent_code`
		qPointWards = `UPDATE wards SET authority_code = code WHERE authority_code <> code`
		qAccounts   = `
WITH accounts (username, role, scope, name) AS (
    SELECT CAST($2 AS text), 'city', '', 'Sở Giáo dục và Đào tạo (demo)'
  UNION ALL
    SELECT $3 || code, 'authority', code, name FROM wards
  UNION ALL
    SELECT $4 || code, 'school', code, name FROM schools
), up AS (
    INSERT INTO staff_users (username, password_hash, role, scope, name)
    SELECT username, $1, role, scope, name FROM accounts
    ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role,
        scope = excluded.scope, name = excluded.name, disabled_at = NULL, failed_logins = 0, locked_until = NULL
    RETURNING username, role
)
INSERT INTO staff_events (username, role, action, detail)
SELECT username, role, $5, 'demo account created or reset by seed --demo' FROM up`
	)
	if _, err := tx.ExecContext(ctx, qWardAuthorities); err != nil {
		return 0, fmt.Errorf("seed ward authorities: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qPointWards); err != nil {
		return 0, fmt.Errorf("seed ward authorities: %w", err)
	}
	res, err := tx.ExecContext(ctx, qAccounts, hash, DemoCityUsername, DemoWardPrefix, DemoSchoolPrefix, ActionDemoSeeded)
	if err != nil {
		return 0, fmt.Errorf("seed demo staff: %w", err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("seed demo staff: %w", err)
	}
	return int(n), nil
}

// auditName is a username no account has, as the audit keeps it: at most
// 64 bytes of valid UTF-8 without NUL, which PostgreSQL text refuses.
func auditName(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "?"), "\x00", "?")
}
