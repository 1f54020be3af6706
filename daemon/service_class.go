package daemon

import "jukiterm/store"

// Every action is of one class: what it touches decides who may ever do it in a
// service (保守) session. A vendor in an active service session may use only
// maintenance actions; personal-data actions are refused to them whatever other
// rights they hold. TestActionClasses (service_test.go) fails when a route's action has no class.
type actionClass string

const (
	classPersonal    actionClass = "personal data"  // reads, writes or shows residents' data or values derived from them
	classAdmin       actionClass = "administration" // operators, rights, keys, backups, media, the log's audit
	classMaintenance actionClass = "maintenance"    // the vendor's work: status, logs, update packages
	classPublic      actionClass = "public"         // health, sign-in, sign-out, the session itself
)

// The service session's actions (service_api.go, update_api.go).
const (
	actServiceStart   action = "start a service session"
	actServiceConfirm action = "confirm the supervisor's presence"
	actServiceEnd     action = "end the service session"
	actServiceStatus  action = "read the terminal's service status"
	actServiceLogs    action = "read jukitermd's own log"
	actBackupVerify   action = "verify the newest backup"
	actUpdateVerify   action = "verify an update package"
	actUpdateStage    action = "stage an update package"
	actUpdateActivate action = "activate a staged update"
	actAuditService   action = "read the service sessions' transcripts"
)

// classOf classifies every action.
var classOf = map[action]actionClass{
	actHealth: classPublic,
	actLogin:  classPublic,
	actLogout: classPublic,
	actWhoami: classPublic,

	actIngest:        classPersonal,
	actSearch:        classPersonal,
	actShow:          classPersonal,
	actAuditLookup:   classPersonal, // answers whether a personal value was used
	actAuditExport:   classPersonal, // the log's archives carry the keyed values' HMACs
	actReconcile:     classPersonal, // lists the uses of residents' data per application
	actProvision:     classPersonal,
	actProvisionList: classPersonal,

	actStats:          classAdmin,
	actKeysRotate:     classAdmin,
	actBackup:         classAdmin,
	actOperators:      classAdmin,
	actLedger:         classAdmin,
	actInventory:      classAdmin,
	actEnrol:          classAdmin,
	actGrant:          classAdmin,
	actRevoke:         classAdmin,
	actReset:          classAdmin,
	actAuditVerify:    classAdmin,
	actAuditProve:     classAdmin,
	actAppAdd:         classAdmin,
	actAppList:        classAdmin,
	actAppClose:       classAdmin,
	actMediaList:      classAdmin,
	actMediaChange:    classAdmin,
	actRecipientAdd:   classAdmin,
	actRecipientList:  classAdmin,
	actUpdateActivate: classAdmin,
	actAuditService:   classAdmin,

	actServiceStart:   classMaintenance,
	actServiceConfirm: classMaintenance,
	actServiceEnd:     classMaintenance,
	actServiceStatus:  classMaintenance,
	actServiceLogs:    classMaintenance,
	actBackupVerify:   classMaintenance,
	actUpdateVerify:   classMaintenance,
	actUpdateStage:    classMaintenance,
}

// serviceSteps are the maintenance actions that run a service session itself: a
// paused session allows only these (with whoami and health).
var serviceSteps = map[action]bool{actServiceConfirm: true, actServiceEnd: true}

// The service actions' roles, added to the policy table (auth.go) here so that the
// table of the other actions stays as it is.
func init() {
	vendor, supervisor := store.RoleVendor, store.RoleSupervisor
	policy[actServiceStart] = []store.Role{vendor}
	policy[actServiceConfirm] = []store.Role{vendor, supervisor}
	policy[actServiceEnd] = []store.Role{vendor, supervisor}
	policy[actServiceStatus] = []store.Role{vendor}
	policy[actServiceLogs] = []store.Role{vendor}
	// Checking the newest backup's signature and manifest decrypts nothing and reads no
	// personal value: the administrator and the auditor may do it outside a service
	// session too (`jukiterm backup verify` without a file).
	policy[actBackupVerify] = []store.Role{vendor, store.RoleAdministrator, store.RoleAuditor}
	policy[actUpdateVerify] = []store.Role{vendor}
	policy[actUpdateStage] = []store.Role{vendor}
	policy[actUpdateActivate] = []store.Role{store.RoleAdministrator}
	policy[actAuditService] = []store.Role{store.RoleAuditor}
}
