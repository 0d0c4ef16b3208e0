#!/usr/bin/env python3
"""Regenerates lib/config/parameter_table_data.inc from a real Postfix 3.7 installation.

Usage:
    tools/dev/gen_parameter_table.py [POSTCONF_D_OUTPUT] > lib/config/parameter_table_data.inc

POSTCONF_D_OUTPUT is what `postconf -d` printed for a configuration directory with an empty
main.cf and an empty master.cf (so that no per-service parameters appear). Without it, the
script runs /usr/sbin/postconf on a temporary empty directory itself.

Only default VALUES come from Postfix. Types and time units are derived from the values
(yes/no is boolean, a number with a unit is time, a plain number is integer or, for byte
counts, size; $references inherit the type of what they name), the machine-dependent
parameters get a computed default, and every description below is written for Postern.
"""
import os
import re
import subprocess
import sys
import tempfile

# Parameters whose default is computed on the machine by lib/config/machine_defaults.cpp.
COMPUTED = {
    "command_directory": "compute_command_directory",
    "config_directory": "compute_config_directory",
    "daemon_directory": "compute_daemon_directory",
    "data_directory": "compute_data_directory",
    "html_directory": "compute_html_directory",
    "mail_version": "compute_mail_version",
    "mailq_path": "compute_mailq_path",
    "manpage_directory": "compute_manpage_directory",
    "meta_directory": "compute_meta_directory",
    "mydomain": "compute_mydomain",
    "myhostname": "compute_myhostname",
    "mynetworks": "compute_mynetworks",
    "newaliases_path": "compute_newaliases_path",
    "process_id": "compute_process_id",
    "process_name": "compute_process_name",
    "queue_directory": "compute_queue_directory",
    "readme_directory": "compute_readme_directory",
    "sample_directory": "compute_sample_directory",
    "sendmail_path": "compute_sendmail_path",
    "shlib_directory": "compute_shlib_directory",
}

# Plain numbers that count bytes.
SIZE = {
    "berkeley_db_create_buffer_size",
    "berkeley_db_read_buffer_size",
    "body_checks_size_limit",
    "bounce_size_limit",
    "header_size_limit",
    "lmdb_map_size",
    "mailbox_size_limit",
    "message_size_limit",
    "queue_minfree",
    "virtual_mailbox_limit",
}

# Numeric-looking defaults whose values are not plain numbers in general: levels ("3.6"),
# dates, port names, "1/concurrency" feedback, and yes/no settings that grew a third value.
STRING = {
    "compatibility_level",
    "default_destination_concurrency_negative_feedback",
    "default_destination_concurrency_positive_feedback",
    "lmtp_tcp_port",
    "mail_release_date",
    "smtpd_forbid_bare_newline",
}

# One line per parameter: name|description. Derived below for lmtp_* twins of smtp_*
# parameters, tlsproxy_* settings that default to an smtp(d) one, and *_service_name.
DESCRIPTIONS_TEXT = """
2bounce_notice_recipient|Who receives the notice when a bounce message itself cannot be delivered.
access_map_defer_code|SMTP code for access-table DEFER and similar temporary-failure actions.
access_map_reject_code|SMTP code for access-table REJECT actions.
address_verify_cache_cleanup_interval|How often the verify daemon sweeps expired entries from its cache; 0 disables the sweep.
address_verify_default_transport|default_transport override used for address verification probes.
address_verify_local_transport|local_transport override used for address verification probes.
address_verify_map|Persistent cache of address verification results; empty keeps it in memory only.
address_verify_negative_cache|Whether failed verification results are cached at all.
address_verify_negative_expire_time|After how long an unrefreshed failed-verification entry is removed.
address_verify_negative_refresh_time|After how long a failed-verification result is probed again.
address_verify_pending_request_limit|Upper bound on verification requests that may be in progress at once.
address_verify_poll_count|How often smtpd asks the verify daemon before giving up on a pending probe.
address_verify_poll_delay|Pause between successive smtpd queries of a pending verification.
address_verify_positive_expire_time|After how long an unrefreshed successful-verification entry is removed.
address_verify_positive_refresh_time|After how long a successful-verification result is probed again.
address_verify_relay_transport|relay_transport override used for address verification probes.
address_verify_relayhost|relayhost override used for address verification probes.
address_verify_sender|Envelope sender of verification probes; empty means the null sender.
address_verify_sender_dependent_default_transport_maps|sender_dependent_default_transport_maps override for verification probes.
address_verify_sender_dependent_relayhost_maps|sender_dependent_relayhost_maps override for verification probes.
address_verify_sender_ttl|How long a time-dependent probe sender address stays the same; 0 keeps it fixed.
address_verify_transport_maps|transport_maps override used for address verification probes.
address_verify_virtual_transport|virtual_transport override used for address verification probes.
alias_database|Alias files that newaliases rebuilds.
alias_maps|Alias tables the local delivery agent consults.
allow_mail_to_commands|Where local delivery to "|command" destinations is permitted (alias, forward, include).
allow_mail_to_files|Where local delivery to /file destinations is permitted (alias, forward, include).
allow_min_user|Whether addresses that begin with "-" are accepted.
allow_percent_hack|Whether user%domain is rewritten into user@domain.
allow_untrusted_routing|Whether sender-specified routing (user@a@b, user%a@b, a!user) is honoured from untrusted clients.
alternate_config_directories|Extra configuration directories that unprivileged users may name with -c or MAIL_CONFIG.
always_add_missing_headers|Whether cleanup adds missing From/To/Date/Message-ID headers to mail from remote clients too.
always_bcc|Address that gets a blind copy of every message.
anvil_rate_time_unit|Time window over which anvil counts connection, message and recipient rates.
anvil_status_update_time|How often anvil logs its peak usage figures.
append_at_myorigin|Whether locally posted addresses without a domain get @$myorigin.
append_dot_mydomain|Whether addresses of the form user@host get .$mydomain appended.
application_event_drain_time|How long postkick waits for its event to be accepted.
authorized_flush_users|Who may flush the queue with sendmail -q or postqueue -f.
authorized_mailq_users|Who may list the queue with mailq or postqueue -p.
authorized_submit_users|Who may submit mail through sendmail and postdrop.
backwards_bounce_logfile_compatibility|Whether bounce logs are also written in the old, pre-2.3 format.
berkeley_db_create_buffer_size|Berkeley DB cache size (bytes) used by postmap and postalias when building tables.
berkeley_db_read_buffer_size|Berkeley DB cache size (bytes) used by daemons when reading tables.
best_mx_transport|Transport for mail whose best MX host is this machine.
biff|Whether local delivery notifies the comsat service.
body_checks|Pattern tables applied to each body line by cleanup.
body_checks_size_limit|How many bytes of each body part body_checks examines.
bounce_notice_recipient|Who receives the postmaster copy of a bounced message's headers.
bounce_queue_lifetime|How long a bounce message may stay queued before it is considered undeliverable.
bounce_size_limit|Largest amount of the original message, in bytes, returned in a bounce.
bounce_template_file|File with custom texts for bounce, delay and success notifications.
broken_sasl_auth_clients|Whether smtpd also announces AUTH in the obsolete "AUTH=" form for old clients.
canonical_classes|Which addresses canonical_maps rewrites (envelope and/or header, sender and/or recipient).
canonical_maps|Address rewriting tables applied to both sender and recipient addresses.
cleanup_replace_stray_cr_lf|Whether cleanup replaces lone CR or LF characters in messages with spaces.
command_directory|Where the administrative commands (postconf, postfix...) are installed.
command_execution_directory|Working directory for commands run by local delivery; empty means the recipient's home.
command_expansion_filter|Characters allowed in $name expansions inside local delivery commands; others become underscores.
command_time_limit|Longest time a local delivery to a command may run.
compatibility_level|The release whose default settings the configuration has been reviewed against.
config_directory|Where main.cf and master.cf live.
confirm_delay_cleared|Whether a notice is sent when a delayed message is finally delivered.
connection_cache_protocol_timeout|Time limit for a request to the connection cache service.
connection_cache_status_update_time|How often scache logs its usage figures.
connection_cache_ttl_limit|Longest time a connection may sit unused in the connection cache.
content_filter|Transport and next hop that all received mail is sent through after queueing.
cyrus_sasl_config_path|Where Cyrus SASL looks for its configuration; empty uses its built-in path.
daemon_directory|Where the server programs started by master are installed.
daemon_table_open_error_is_fatal|Whether a lookup table that fails to open stops a daemon instead of a warning.
daemon_timeout|Longest time a daemon may spend on one request before it aborts.
data_directory|Where writable non-queue data (caches, PRNG state) lives.
debug_peer_level|How much extra verbosity matching debug_peer_list turns on.
debug_peer_list|Remote hosts or networks for which logging is made more verbose.
debugger_command|Command run when a program is started with -D.
default_database_type|Table type assumed by newaliases, postalias and postmap when none is given.
default_delivery_slot_cost|How often a message may preempt others in the scheduler; 0 disables preemption.
default_delivery_slot_discount|Percentage of the delivery slot cost the scheduler discounts.
default_delivery_slot_loan|Delivery slots the scheduler lends in advance.
default_delivery_status_filter|Replacement tables applied to delivery status texts of all delivery agents.
default_destination_concurrency_failed_cohort_limit|Consecutive failed connection cohorts after which a destination is marked dead.
default_destination_concurrency_limit|Parallel deliveries to one destination, per transport.
default_destination_concurrency_negative_feedback|How much a failed delivery reduces a destination's concurrency.
default_destination_concurrency_positive_feedback|How much a successful delivery raises a destination's concurrency.
default_destination_rate_delay|Pause between two deliveries to the same destination; 0 disables it.
default_destination_recipient_limit|Largest number of recipients per delivery.
default_extra_recipient_limit|Extra in-memory recipient slots per message when delivery slots are available.
default_filter_nexthop|Next hop used with content_filter when that names none.
default_minimum_delivery_slots|Fewest recipients a message must have before it may be preempted.
default_privs|Unprivileged account used for deliveries to external files or commands.
default_process_limit|Default maximum number of processes per master.cf service.
default_rbl_reply|Template of the reply sent when a DNSBL lookup rejects a request.
default_recipient_limit|In-memory recipients per transport, across all messages.
default_recipient_refill_delay|Longest wait before more recipients are read in for a message.
default_recipient_refill_limit|How many recipients are read in at a time for a message.
default_transport|Transport for destinations not handled by local, virtual or relay rules.
default_transport_rate_delay|Pause between two deliveries over the same transport; 0 disables it.
default_verp_delimiters|VERP delimiter characters used when none are given.
defer_code|SMTP code for the DEFER restriction.
defer_transports|Transports whose deliveries are postponed until a flush.
delay_logging_resolution_limit|Digits after the decimal point in logged delay figures.
delay_notice_recipient|Who receives the postmaster copy of a delay warning.
delay_warning_time|How long mail waits before the sender is warned; 0 disables warnings.
deliver_lock_attempts|How many times delivery tries to lock a mailbox or bounce log.
deliver_lock_delay|Pause between attempts to lock a mailbox or bounce log.
destination_concurrency_feedback_debug|Whether the scheduler logs its concurrency feedback decisions.
detect_8bit_encoding_header|Whether Content-Transfer-Encoding: 8bit counts as 8-bit content for MIME conversion.
disable_dns_lookups|Obsolete switch that turns off DNS lookups in the SMTP and LMTP clients.
disable_mime_input_processing|Whether MIME parsing of incoming mail is turned off.
disable_mime_output_conversion|Whether 8-bit to 7-bit MIME conversion is turned off.
disable_verp_bounces|Whether VERP requests are ignored when a bounce has many recipients.
disable_vrfy_command|Whether smtpd refuses the VRFY command.
dns_ncache_ttl_fix_enable|Whether the TTL of negative DNS replies is taken from the SOA record.
dnsblog_reply_delay|Artificial delay added to dnsblog replies (for testing).
dnssec_probe|DNS query type and name used to check that the resolver validates DNSSEC.
dont_remove|Whether queue files are kept instead of removed (debugging only).
double_bounce_sender|Sender address of bounces that are themselves undeliverable.
duplicate_filter_limit|How many addresses the duplicate filters remember during expansion.
empty_address_default_transport_maps_lookup_key|Key looked up in sender_dependent_default_transport_maps for the null sender.
empty_address_local_login_sender_maps_lookup_key|Key looked up in local_login_sender_maps for the null sender.
empty_address_recipient|Where mail addressed to the null address is delivered.
empty_address_relayhost_maps_lookup_key|Key looked up in sender_dependent_relayhost_maps for the null sender.
enable_idna2003_compatibility|Whether international domain names are converted with IDNA2003 rules instead of UTS 46.
enable_long_queue_ids|Whether queue IDs use the long, time-based format.
enable_original_recipient|Whether the original recipient address is recorded and used in notices.
enable_threaded_bounces|Whether bounce messages keep the original Message-ID in their threading headers.
error_notice_recipient|Who receives notices about software, resource and protocol problems.
execution_directory_expansion_filter|Characters allowed in $name expansions inside command_execution_directory.
expand_owner_alias|Whether owner-alias addresses are expanded as aliases.
export_environment|Environment variables passed on to external commands.
fallback_transport|Where local mail for unknown local users goes.
fallback_transport_maps|Per-recipient tables giving where local mail for unknown users goes.
fast_flush_domains|Destinations for which per-destination flush logs are kept.
fast_flush_purge_time|After how long an unused flush log is removed.
fast_flush_refresh_time|After how long a flush log is refreshed even without a request.
fault_injection_code|Internal testing switch that makes programs fail on purpose.
fork_attempts|How many times a program retries a failing fork().
fork_delay|Pause between fork() attempts.
forward_expansion_filter|Characters allowed in $name expansions inside forward_path.
forward_path|Where the local delivery agent looks for .forward files.
frozen_delivered_to|Whether the Delivered-To address is recorded once when delivery starts.
hash_queue_depth|How many levels of subdirectories the hashed queues use.
hash_queue_names|Queue directories that are spread over hashed subdirectories.
header_address_token_limit|Most tokens kept from one address header.
header_checks|Pattern tables applied to each primary header by cleanup.
header_from_format|How cleanup formats the From: header it generates.
header_size_limit|Longest message header, in bytes, that is kept in memory.
helpful_warnings|Whether warnings about questionable configuration are logged.
home_mailbox|Mailbox file or Maildir (with trailing /) relative to the user's home.
hopcount_limit|Most Received: headers a message may carry before it is rejected.
html_directory|Where the HTML documentation is installed, or "no".
ignore_mx_lookup_error|Whether an MX lookup failure is treated as "no MX record".
import_environment|Environment variables kept from the parent when a program starts.
in_flow_delay|Time limit for sendmail or smtpd to slow down when the queue is filling faster than it drains.
inet_interfaces|Network addresses this system receives mail on.
inet_protocols|Address families used for network mail: ipv4, ipv6 or all.
info_log_address_format|How addresses are written in informational log lines (external or internal form).
initial_destination_concurrency|Parallel deliveries to a destination before feedback adjusts the number.
internal_mail_filter_classes|Which internally generated mail goes through content_filter and milters.
invalid_hostname_reject_code|SMTP code when reject_invalid_helo_hostname rejects a request.
ipc_idle|How long a client keeps an idle connection to an internal service open.
ipc_timeout|Time limit for a read or write on an internal communication channel.
ipc_ttl|Longest lifetime of a client connection to an internal service.
known_tcp_ports|Port names resolved without the system services database.
line_length_limit|Longest line handled in one piece; longer lines are split.
lmdb_map_size|Initial LMDB database size limit in bytes.
lmtp_assume_final|Whether a successful LMTP delivery may report DSN "delivered" instead of "relayed".
lmtp_discard_lhlo_keyword_address_maps|Per-server tables of LHLO keywords the LMTP client ignores.
lmtp_discard_lhlo_keywords|LHLO keywords the LMTP client ignores.
lmtp_lhlo_name|Host name the LMTP client sends with LHLO.
lmtp_lhlo_timeout|How long the LMTP client waits for the reply to LHLO.
local_command_shell|Shell used for local deliveries to commands; empty runs them directly.
local_delivery_status_filter|Replacement tables applied to delivery status texts of the local agent.
local_destination_concurrency_limit|Parallel local deliveries to one recipient.
local_destination_recipient_limit|Recipients per local delivery; 1 delivers each separately.
local_header_rewrite_clients|Clients whose header addresses are rewritten as if they were local.
local_login_sender_maps|Which envelope senders a local submitter may use, per login name.
local_recipient_maps|Tables of valid local recipients; smtpd rejects other local addresses.
local_transport|Transport for destinations listed in mydestination.
luser_relay|Address that receives mail for unknown local recipients.
mail_name|Mail system name used in the SMTP greeting and Received: headers.
mail_owner|Account that owns the queue and that daemons run as.
mail_release_date|Release date of the Postfix version Postern is compatible with.
mail_spool_directory|Directory of UNIX-style mailboxes.
mail_version|Postfix version Postern is compatible with.
mailbox_command|Command that delivers to a local user's mailbox instead of the built-in delivery.
mailbox_command_maps|Per-user tables of mailbox_command overrides.
mailbox_delivery_lock|Locking methods used for UNIX-style mailbox delivery.
mailbox_size_limit|Largest size, in bytes, of a mailbox or maildir file; 0 means no limit.
mailbox_transport|Transport that local delivery hands mailbox deliveries to.
mailbox_transport_maps|Per-recipient tables of mailbox_transport overrides.
maillog_file|File that postlogd writes log lines to instead of syslog.
maillog_file_compressor|Program that compresses a rotated maillog_file.
maillog_file_prefixes|Allowed path prefixes for maillog_file.
maillog_file_rotate_suffix|strftime() suffix added to the name of a rotated maillog_file.
mailq_path|Path of the mailq command.
manpage_directory|Where the manual pages are installed.
maps_rbl_domains|Obsolete list of DNS block lists used by reject_maps_rbl.
maps_rbl_reject_code|SMTP code when a DNS block list rejects a request.
masquerade_classes|Which addresses address masquerading applies to.
masquerade_domains|Domains whose subdomains are hidden by address masquerading.
masquerade_exceptions|Local parts that address masquerading leaves alone.
master_service_disable|master.cf services that master does not start.
max_idle|How long an idle daemon waits for a new client before it exits.
max_use|How many clients a daemon serves before it exits.
maximal_backoff_time|Longest wait before a deferred message is tried again.
maximal_queue_lifetime|How long a message may stay queued before it is returned as undeliverable.
message_drop_headers|Headers that cleanup removes from every message.
message_reject_characters|Characters that cause a message to be rejected.
message_size_limit|Largest message size, in bytes, with envelope information.
message_strip_characters|Characters that cleanup removes from message content.
meta_directory|Where read-only metadata such as postfix-files lives.
milter_command_timeout|Time limit for a milter to answer an SMTP command event.
milter_connect_macros|Macros sent to milters at connect time.
milter_connect_timeout|Time limit for connecting to a milter.
milter_content_timeout|Time limit for a milter to process message content.
milter_data_macros|Macros sent to milters after DATA.
milter_default_action|What to do when a milter is unavailable or misbehaves.
milter_end_of_data_macros|Macros sent to milters at the end of the message.
milter_end_of_header_macros|Macros sent to milters at the end of the headers.
milter_header_checks|Pattern tables applied to headers that milters add.
milter_helo_macros|Macros sent to milters after HELO or EHLO.
milter_macro_daemon_name|Value of the {daemon_name} milter macro.
milter_macro_defaults|Default values for milter macros that have none.
milter_macro_v|Value of the {v} milter macro.
milter_mail_macros|Macros sent to milters after MAIL FROM.
milter_protocol|Milter protocol version spoken to milters.
milter_rcpt_macros|Macros sent to milters after RCPT TO.
milter_unknown_command_macros|Macros sent to milters after an unknown SMTP command.
mime_boundary_length_limit|Longest MIME boundary string that is recognised.
mime_header_checks|Pattern tables applied to MIME part headers.
mime_nesting_limit|Deepest MIME nesting that is handled.
minimal_backoff_time|Shortest wait before a deferred message is tried again.
multi_instance_directories|Configuration directories of the secondary instances.
multi_instance_enable|Whether postmulti may start this instance.
multi_instance_group|Group name of this instance in a multi-instance setup.
multi_instance_name|Name of this instance in a multi-instance setup.
multi_instance_wrapper|Command that runs postfix commands across all instances.
multi_recipient_bounce_reject_code|SMTP code when smtpd rejects a multi-recipient bounce.
mydestination|Domains delivered locally by local_transport.
mydomain|The internet domain name of this mail system.
myhostname|The internet host name of this mail system.
mynetworks|Trusted client networks, allowed by permit_mynetworks.
mynetworks_style|How mynetworks is derived when unset: host, subnet or class.
myorigin|The domain that locally-posted mail appears to come from.
nested_header_checks|Pattern tables applied to headers of attached messages.
newaliases_path|Path of the newaliases command.
non_fqdn_reject_code|SMTP code when a non-fully-qualified name is rejected.
non_smtpd_milters|Milters for mail that does not arrive over SMTP.
notify_classes|Problem classes reported to the postmaster.
openssl_path|Where the openssl command is found.
owner_request_special|Whether owner-list and list-request addresses get special treatment.
parent_domain_matches_subdomains|Features where a domain name also matches its subdomains.
permit_mx_backup_networks|Networks whose primary MX hosts permit_mx_backup accepts.
pipe_delivery_status_filter|Replacement tables applied to delivery status texts of the pipe agent.
plaintext_reject_code|SMTP code when a request needs TLS that is not in use.
postlogd_watchdog_timeout|How long postlogd may be stuck before its watchdog kills it.
postmulti_control_commands|postfix commands that postmulti passes to all instances.
postmulti_start_commands|postfix commands that postmulti treats as starting an instance.
postmulti_stop_commands|postfix commands that postmulti treats as stopping an instance.
postscreen_access_list|Permanent allow and deny lists of client addresses checked by postscreen.
postscreen_allowlist_interfaces|Local addresses on which postscreen may put clients on its temporary allowlist.
postscreen_bare_newline_action|What postscreen does with a client that sends a bare newline.
postscreen_bare_newline_enable|Whether postscreen runs its bare-newline test.
postscreen_bare_newline_ttl|How long a passed bare-newline test stays valid.
postscreen_cache_cleanup_interval|How often postscreen removes expired entries from its cache; 0 disables it.
postscreen_cache_map|Persistent cache of postscreen test results.
postscreen_cache_retention_time|How long an expired cache entry is kept before removal.
postscreen_client_connection_count_limit|Most simultaneous connections postscreen allows from one client.
postscreen_command_count_limit|Most commands a client may send to postscreen's built-in SMTP engine.
postscreen_command_filter|Table that rewrites commands received by postscreen's SMTP engine.
postscreen_command_time_limit|Time limit for reading a command in postscreen's SMTP engine.
postscreen_denylist_action|What postscreen does with a client on its permanent deny list.
postscreen_disable_vrfy_command|Whether postscreen's SMTP engine refuses VRFY.
postscreen_discard_ehlo_keyword_address_maps|Per-client tables of EHLO keywords postscreen does not announce.
postscreen_discard_ehlo_keywords|EHLO keywords postscreen does not announce.
postscreen_dnsbl_action|What postscreen does with a client whose DNSBL score reaches the threshold.
postscreen_dnsbl_allowlist_threshold|DNSBL score at or below which a client may skip the other tests.
postscreen_dnsbl_max_ttl|Longest time a passed DNSBL result stays valid.
postscreen_dnsbl_min_ttl|Shortest time a passed DNSBL result stays valid.
postscreen_dnsbl_reply_map|Table that replaces DNSBL names in replies to rejected clients.
postscreen_dnsbl_sites|DNS block lists postscreen queries, with optional filters and weights.
postscreen_dnsbl_threshold|Combined DNSBL score at which postscreen acts on a client.
postscreen_dnsbl_timeout|How long postscreen waits for DNSBL answers.
postscreen_enforce_tls|Obsolete switch requiring STARTTLS in postscreen's SMTP engine.
postscreen_expansion_filter|Characters allowed in $name expansions of postscreen's replies.
postscreen_forbidden_commands|Commands that make postscreen treat the client as a non-SMTP peer.
postscreen_greet_action|What postscreen does with a client that talks before its turn.
postscreen_greet_banner|Text of the partial greeting postscreen sends before the pregreet test.
postscreen_greet_ttl|How long a passed pregreet test stays valid.
postscreen_greet_wait|How long postscreen waits for a client to talk out of turn.
postscreen_helo_required|Whether postscreen's SMTP engine requires HELO or EHLO.
postscreen_non_smtp_command_action|What postscreen does with a client that sends a non-SMTP command.
postscreen_non_smtp_command_enable|Whether postscreen runs its non-SMTP command test.
postscreen_non_smtp_command_ttl|How long a passed non-SMTP command test stays valid.
postscreen_pipelining_action|What postscreen does with a client that pipelines without permission.
postscreen_pipelining_enable|Whether postscreen runs its pipelining test.
postscreen_pipelining_ttl|How long a passed pipelining test stays valid.
postscreen_post_queue_limit|Most clients waiting for a free smtpd process after passing postscreen.
postscreen_pre_queue_limit|Most clients being tested by postscreen at once.
postscreen_reject_footer|Text appended to postscreen's 4xx and 5xx replies.
postscreen_reject_footer_maps|Tables of texts appended to postscreen's 4xx and 5xx replies.
postscreen_tls_security_level|TLS level of postscreen's built-in SMTP engine.
postscreen_upstream_proxy_protocol|Proxy protocol spoken by a load balancer in front of postscreen.
postscreen_upstream_proxy_timeout|How long postscreen waits for the proxy protocol header.
postscreen_use_tls|Obsolete switch offering STARTTLS in postscreen's SMTP engine.
postscreen_watchdog_timeout|How long postscreen may be stuck before its watchdog kills it.
prepend_delivered_header|Delivery paths that add a Delivered-To: header.
process_id|Process ID of the program reading this setting.
process_id_directory|Queue subdirectory that holds the master lock and pid files.
process_name|Name of the program reading this setting.
propagate_unmatched_extensions|Which lookups pass an unmatched address extension on to the result.
proxy_interfaces|Addresses where this system receives mail through a proxy or NAT.
proxy_read_maps|Tables that proxymap may open for reading.
proxy_write_maps|Tables that proxywrite may open for updating.
qmgr_clog_warn_time|Least time between warnings that the active queue is congested.
qmgr_daemon_timeout|Longest time the queue manager may spend on one request.
qmgr_fudge_factor|Percentage of delivery effort the old queue manager gives to new mail.
qmgr_ipc_timeout|Time limit for the queue manager's internal communication.
qmgr_message_active_limit|Most messages in the active queue.
qmgr_message_recipient_limit|Most recipients held in memory by the queue manager.
qmgr_message_recipient_minimum|Fewest in-memory recipients a message is given.
qmqpd_authorized_clients|Clients allowed to use the QMQP service.
qmqpd_client_port_logging|Whether the QMQP server logs the client port.
qmqpd_error_delay|Pause before the QMQP server replies with an error.
qmqpd_timeout|Time limit for the QMQP server to send or receive.
queue_directory|Root of the mail queue.
queue_file_attribute_count_limit|Most named attributes a queue file may carry.
queue_minfree|Free space, in bytes, that must remain in the queue file system; 0 means no check.
queue_run_delay|How often the queue manager scans the deferred queue.
rbl_reply_maps|Tables of reply templates for DNS block list rejections.
readme_directory|Where the README files are installed, or "no".
receive_override_options|Processing steps that receiving servers turn off (for filter setups).
recipient_bcc_maps|Per-recipient tables of addresses that get a blind copy.
recipient_canonical_classes|Which addresses recipient_canonical_maps rewrites.
recipient_canonical_maps|Address rewriting tables applied to recipient addresses.
recipient_delimiter|Characters that separate a user name from an address extension.
reject_code|SMTP code for the REJECT restriction.
reject_tempfail_action|What restrictions do on a temporary lookup failure.
relay_clientcerts|Client certificate fingerprints that permit_tls_clientcerts trusts.
relay_domains|Destinations this system relays mail to.
relay_domains_reject_code|SMTP code when relaying is refused.
relay_recipient_maps|Tables of valid recipients in relay_domains.
relay_transport|Transport for destinations in relay_domains.
relayhost|The next-hop destination of non-local mail, overriding MX lookups.
relocated_maps|Tables of users that have moved, with their new addresses.
remote_header_rewrite_domain|Domain appended to unqualified header addresses from remote clients.
require_home_directory|Whether a user's home directory must exist before mail is delivered there.
reset_owner_alias|Whether an owner- alias resets the envelope sender of forwarded mail.
resolve_dequoted_address|Whether addresses are resolved after quotes are removed.
resolve_null_domain|Whether user@ is resolved as an address in the local domain.
resolve_numeric_domain|Whether user@ipaddress is accepted as local when the address is this host's.
respectful_logging|Whether log messages avoid terms such as whitelist and blacklist.
sample_directory|Where the sample configuration files are installed.
send_cyrus_sasl_authzid|Whether the SMTP client sends a Cyrus SASL authorization ID.
sender_bcc_maps|Per-sender tables of addresses that get a blind copy.
sender_canonical_classes|Which addresses sender_canonical_maps rewrites.
sender_canonical_maps|Address rewriting tables applied to sender addresses.
sender_dependent_default_transport_maps|Per-sender tables that override default_transport.
sender_dependent_relayhost_maps|Per-sender tables that override relayhost.
sendmail_fix_line_endings|When sendmail converts line endings to LF: always, strict or never.
sendmail_path|Path of the sendmail command.
service_name|Name of the master.cf service running this program.
service_throttle_time|How long master waits before restarting a service that keeps failing.
setgid_group|Group that postdrop and postqueue run as.
shlib_directory|Where shared libraries and plugins are installed, or "no".
show_user_unknown_table_name|Whether "User unknown" replies name the table that failed.
smtp_address_preference|Address family the SMTP client prefers when a host has both: any, ipv4 or ipv6.
smtp_address_verify_target|SMTP command the SMTP client stops after in a verification probe.
smtp_always_send_ehlo|Whether the SMTP client always starts with EHLO.
smtp_balance_inet_protocols|Whether the SMTP client mixes IPv4 and IPv6 addresses when a server has both.
smtp_bind_address|Local IPv4 address the SMTP client connects from.
smtp_bind_address6|Local IPv6 address the SMTP client connects from.
smtp_bind_address_enforce|Whether a failure to bind the SMTP client's local address defers delivery.
smtp_body_checks|Pattern tables applied to body lines as the SMTP client sends them.
smtp_cname_overrides_servername|Whether a CNAME replaces the server name in SMTP client logging and TLS checks.
smtp_connect_timeout|How long the SMTP client waits for a TCP connection to complete.
smtp_connection_cache_destinations|Destinations for which the SMTP client always caches connections.
smtp_connection_cache_on_demand|Whether the SMTP client caches connections to destinations with backlogs.
smtp_connection_cache_time_limit|How long an SMTP client connection may wait in the cache.
smtp_connection_reuse_count_limit|How many times a cached SMTP client connection may be reused; 0 means no limit.
smtp_connection_reuse_time_limit|How long a cached SMTP client connection may be reused after it was opened.
smtp_data_done_timeout|How long the SMTP client waits for the reply after sending the final dot.
smtp_data_init_timeout|How long the SMTP client waits for the reply to DATA.
smtp_data_xfer_timeout|How long the SMTP client may be stuck while sending message content.
smtp_defer_if_no_mx_address_found|Whether the SMTP client defers when MX hosts have no address records.
smtp_delivery_status_filter|Replacement tables applied to delivery status texts of the SMTP client.
smtp_discard_ehlo_keyword_address_maps|Per-server tables of EHLO keywords the SMTP client ignores.
smtp_discard_ehlo_keywords|EHLO keywords the SMTP client ignores.
smtp_dns_reply_filter|Pattern tables that drop DNS records the SMTP client receives.
smtp_dns_resolver_options|Resolver options for the SMTP client's DNS lookups.
smtp_dns_support_level|How much the SMTP client trusts DNS: disabled, enabled or dnssec.
smtp_enforce_tls|Obsolete switch requiring TLS with a verified server in the SMTP client.
smtp_fallback_relay|Next hops the SMTP client tries when the destination cannot be reached.
smtp_generic_maps|Address rewriting tables applied as the SMTP client sends mail out.
smtp_header_checks|Pattern tables applied to primary headers as the SMTP client sends them.
smtp_helo_name|Host name the SMTP client sends with HELO or EHLO.
smtp_helo_timeout|How long the SMTP client waits for the greeting and the HELO/EHLO reply.
smtp_host_lookup|How the SMTP client finds server addresses: dns, native or both.
smtp_line_length_limit|Longest line the SMTP client sends before folding it.
smtp_mail_timeout|How long the SMTP client waits for the reply to MAIL FROM.
smtp_mime_header_checks|Pattern tables applied to MIME headers as the SMTP client sends them.
smtp_min_data_rate|Lowest sending rate in bytes per second that extends the SMTP client's content deadline.
smtp_mx_address_limit|Most server addresses the SMTP client tries for one delivery.
smtp_mx_session_limit|Most sessions the SMTP client opens for one delivery.
smtp_nested_header_checks|Pattern tables applied to attached-message headers as the SMTP client sends them.
smtp_never_send_ehlo|Whether the SMTP client never sends EHLO.
smtp_per_request_deadline|Whether SMTP client timeouts limit a whole request instead of each read or write.
smtp_pix_workaround_delay_time|How long the SMTP client pauses before the final dot for broken PIX firewalls.
smtp_pix_workaround_maps|Per-destination tables of PIX firewall workarounds for the SMTP client.
smtp_pix_workaround_threshold_time|How long a message must have been queued before PIX workarounds apply.
smtp_pix_workarounds|Which PIX firewall workarounds the SMTP client uses.
smtp_quit_timeout|How long the SMTP client waits for the reply to QUIT.
smtp_quote_rfc821_envelope|Whether the SMTP client quotes envelope addresses as RFC 5321 requires.
smtp_randomize_addresses|Whether the SMTP client shuffles equal-preference server addresses.
smtp_rcpt_timeout|How long the SMTP client waits for the reply to RCPT TO.
smtp_reply_filter|Pattern tables that rewrite replies the SMTP client receives.
smtp_rset_timeout|How long the SMTP client waits for the reply to RSET.
smtp_sasl_auth_cache_name|Table where the SMTP client remembers failed SASL logins.
smtp_sasl_auth_cache_time|How long a failed SMTP client SASL login is remembered.
smtp_sasl_auth_enable|Whether the SMTP client authenticates with SASL.
smtp_sasl_auth_soft_bounce|Whether SMTP client SASL failures defer instead of bouncing.
smtp_sasl_mechanism_filter|SASL mechanisms the SMTP client may use.
smtp_sasl_password_maps|Per-server tables of SMTP client SASL user names and passwords.
smtp_sasl_path|Implementation-specific path of the SMTP client's SASL configuration.
smtp_sasl_security_options|SASL mechanism properties the SMTP client insists on.
smtp_sasl_tls_security_options|SASL mechanism properties the SMTP client insists on over TLS.
smtp_sasl_tls_verified_security_options|SASL mechanism properties the SMTP client insists on over verified TLS.
smtp_sasl_type|SASL implementation used by the SMTP client.
smtp_send_dummy_mail_auth|Whether the SMTP client sends AUTH=<> with MAIL FROM when it did not authenticate.
smtp_send_xforward_command|Whether the SMTP client forwards original client details with XFORWARD.
smtp_sender_dependent_authentication|Whether the SMTP client picks SASL credentials by sender address.
smtp_skip_5xx_greeting|Whether the SMTP client moves to the next server after a 5xx greeting.
smtp_skip_quit_response|Whether the SMTP client closes the connection without awaiting the QUIT reply.
smtp_starttls_timeout|Time limit for the SMTP client's TLS handshake and shutdown.
smtp_tcp_port|Default TCP port of the SMTP client.
smtp_tls_CAfile|File of trusted CA certificates for the SMTP client.
smtp_tls_CApath|Directory of trusted CA certificates for the SMTP client.
smtp_tls_block_early_mail_reply|Whether the SMTP client defends against replies injected before TLS starts.
smtp_tls_cert_file|RSA certificate file of the SMTP client.
smtp_tls_chain_files|Files of private keys with their certificate chains for the SMTP client.
smtp_tls_ciphers|Lowest cipher grade the SMTP client uses with opportunistic TLS.
smtp_tls_connection_reuse|Whether the SMTP client reuses TLS connections through tlsproxy.
smtp_tls_dane_insecure_mx_policy|TLS policy the SMTP client uses for MX hosts whose records are not DNSSEC-validated.
smtp_tls_dcert_file|DSA certificate file of the SMTP client.
smtp_tls_dkey_file|DSA private key file of the SMTP client.
smtp_tls_eccert_file|ECDSA certificate file of the SMTP client.
smtp_tls_eckey_file|ECDSA private key file of the SMTP client.
smtp_tls_enforce_peername|Obsolete switch requiring the server name to match its certificate.
smtp_tls_exclude_ciphers|Ciphers the SMTP client never uses.
smtp_tls_fingerprint_cert_match|Certificate or key fingerprints the SMTP client accepts at the fingerprint level.
smtp_tls_fingerprint_digest|Digest algorithm of the SMTP client's certificate fingerprints.
smtp_tls_force_insecure_host_tlsa_lookup|Whether the SMTP client looks up TLSA records even for insecure host names.
smtp_tls_key_file|RSA private key file of the SMTP client.
smtp_tls_loglevel|How much the SMTP client logs about TLS.
smtp_tls_mandatory_ciphers|Lowest cipher grade the SMTP client uses with mandatory TLS.
smtp_tls_mandatory_exclude_ciphers|Ciphers the SMTP client never uses with mandatory TLS.
smtp_tls_mandatory_protocols|TLS protocol versions the SMTP client allows with mandatory TLS.
smtp_tls_note_starttls_offer|Whether the SMTP client logs servers that offer STARTTLS when TLS is off.
smtp_tls_per_site|Obsolete per-destination TLS policy tables of the SMTP client.
smtp_tls_policy_maps|Per-destination TLS policy tables of the SMTP client.
smtp_tls_protocols|TLS protocol versions the SMTP client allows with opportunistic TLS.
smtp_tls_scert_verifydepth|Longest server certificate chain the SMTP client verifies.
smtp_tls_secure_cert_match|Names a server certificate must match at the secure level.
smtp_tls_security_level|Default TLS level of the SMTP client (none, may, encrypt, dane, verify, secure...).
smtp_tls_servername|Name the SMTP client sends with SNI.
smtp_tls_session_cache_database|Cache of the SMTP client's TLS sessions.
smtp_tls_session_cache_timeout|How long the SMTP client keeps a TLS session for reuse.
smtp_tls_trust_anchor_file|Files of trust anchors for the SMTP client's verified TLS.
smtp_tls_verify_cert_match|Names a server certificate must match at the verify level.
smtp_tls_wrappermode|Whether the SMTP client speaks TLS from the start (port 465 style).
smtp_use_tls|Obsolete switch turning on opportunistic TLS in the SMTP client.
smtp_xforward_timeout|How long the SMTP client waits for the reply to XFORWARD.
smtpd_authorized_verp_clients|Clients allowed to request VERP with XVERP.
smtpd_authorized_xclient_hosts|Clients allowed to use XCLIENT.
smtpd_authorized_xforward_hosts|Clients allowed to use XFORWARD.
smtpd_banner|Text after the 220 code in the SMTP greeting.
smtpd_client_auth_rate_limit|Most AUTH commands per client per anvil time unit; 0 means no limit.
smtpd_client_connection_count_limit|Most simultaneous connections from one client; 0 means no limit.
smtpd_client_connection_rate_limit|Most connections per client per anvil time unit; 0 means no limit.
smtpd_client_event_limit_exceptions|Clients exempt from the per-client connection and rate limits.
smtpd_client_message_rate_limit|Most messages per client per anvil time unit; 0 means no limit.
smtpd_client_new_tls_session_rate_limit|Most new TLS sessions per client per anvil time unit; 0 means no limit.
smtpd_client_port_logging|Whether smtpd logs the client port.
smtpd_client_recipient_rate_limit|Most recipients per client per anvil time unit; 0 means no limit.
smtpd_client_restrictions|Access restrictions applied to the client's connection.
smtpd_command_filter|Table that rewrites SMTP commands before smtpd parses them.
smtpd_data_restrictions|Access restrictions applied to the DATA command.
smtpd_delay_open_until_valid_rcpt|Whether smtpd creates the queue file only after a recipient is accepted.
smtpd_delay_reject|Whether client, HELO and sender restrictions wait until RCPT TO.
smtpd_discard_ehlo_keyword_address_maps|Per-client tables of EHLO keywords smtpd does not announce.
smtpd_discard_ehlo_keywords|EHLO keywords smtpd does not announce.
smtpd_dns_reply_filter|Pattern tables that drop DNS records smtpd receives.
smtpd_end_of_data_restrictions|Access restrictions applied after the message content.
smtpd_enforce_tls|Obsolete switch requiring STARTTLS in smtpd.
smtpd_error_sleep_time|Pause before smtpd answers a client that made errors.
smtpd_etrn_restrictions|Access restrictions applied to the ETRN command.
smtpd_expansion_filter|Characters allowed in $name expansions of smtpd's replies.
smtpd_forbid_bare_newline|Whether smtpd rejects or drops clients that end lines with a bare newline.
smtpd_forbid_bare_newline_exclusions|Clients exempt from smtpd_forbid_bare_newline.
smtpd_forbid_bare_newline_reject_code|SMTP code when smtpd_forbid_bare_newline rejects a client.
smtpd_forbid_unauth_pipelining|Whether smtpd disconnects clients that pipeline without permission.
smtpd_forbidden_commands|Commands that make smtpd hang up at once.
smtpd_hard_error_limit|Errors after which smtpd disconnects a client.
smtpd_helo_required|Whether clients must send HELO or EHLO first.
smtpd_helo_restrictions|Access restrictions applied to HELO and EHLO.
smtpd_history_flush_threshold|Lines of SMTP history after which smtpd stops collecting it for notices.
smtpd_junk_command_limit|NOOP, VRFY, ETRN and RSET commands allowed before errors are counted.
smtpd_log_access_permit_actions|Access actions that smtpd logs when they permit a request.
smtpd_milter_maps|Per-client tables of milters for smtpd.
smtpd_milters|Milters that smtpd sends mail through.
smtpd_min_data_rate|Lowest receiving rate in bytes per second that extends smtpd's content deadline.
smtpd_noop_commands|Commands smtpd replies to as if they were NOOP.
smtpd_null_access_lookup_key|Key looked up in access tables for the null sender.
smtpd_peername_lookup|Whether smtpd looks up the client's host name.
smtpd_per_request_deadline|Whether smtpd timeouts limit a whole request instead of each read or write.
smtpd_policy_service_default_action|Reply used when a policy server does not answer.
smtpd_policy_service_max_idle|How long an idle policy server connection is kept.
smtpd_policy_service_max_ttl|Longest lifetime of a policy server connection.
smtpd_policy_service_policy_context|Text sent to policy servers as the policy_context attribute.
smtpd_policy_service_request_limit|Requests per policy server connection; 0 means no limit.
smtpd_policy_service_retry_delay|Pause before a failed policy server request is retried.
smtpd_policy_service_timeout|Time limit for talking to a policy server.
smtpd_policy_service_try_limit|Attempts at a policy server request before giving up.
smtpd_proxy_ehlo|Host name smtpd sends with EHLO to a before-queue filter.
smtpd_proxy_filter|Before-queue content filter that smtpd forwards mail to.
smtpd_proxy_options|Options for talking to the before-queue filter.
smtpd_proxy_timeout|Time limit for talking to the before-queue filter.
smtpd_recipient_limit|Most recipients smtpd accepts per message.
smtpd_recipient_overshoot_limit|Recipients above smtpd_recipient_limit counted as errors.
smtpd_recipient_restrictions|Access restrictions applied to RCPT TO.
smtpd_reject_footer|Text appended to smtpd's 4xx and 5xx replies.
smtpd_reject_footer_maps|Tables of texts appended to smtpd's 4xx and 5xx replies.
smtpd_reject_unlisted_recipient|Whether smtpd rejects unknown recipients without explicit restrictions.
smtpd_reject_unlisted_sender|Whether smtpd rejects unknown senders without explicit restrictions.
smtpd_relay_before_recipient_restrictions|Whether relay restrictions are evaluated before recipient restrictions.
smtpd_relay_restrictions|Access restrictions for RCPT TO that decide whether relaying is allowed.
smtpd_restriction_classes|Names of user-defined groups of restrictions.
smtpd_sasl_auth_enable|Whether smtpd offers SASL authentication.
smtpd_sasl_authenticated_header|Whether smtpd records the SASL login name in Received: headers.
smtpd_sasl_exceptions_networks|Clients to which smtpd does not offer AUTH.
smtpd_sasl_local_domain|SASL realm of smtpd.
smtpd_sasl_mechanism_filter|SASL mechanisms smtpd offers.
smtpd_sasl_path|Implementation-specific path of smtpd's SASL service.
smtpd_sasl_response_limit|Longest SASL response smtpd accepts.
smtpd_sasl_security_options|SASL mechanism properties smtpd insists on.
smtpd_sasl_service|SASL service name of smtpd.
smtpd_sasl_tls_security_options|SASL mechanism properties smtpd insists on over TLS.
smtpd_sasl_type|SASL implementation used by smtpd.
smtpd_sender_login_maps|Tables of which SASL logins own which sender addresses.
smtpd_sender_restrictions|Access restrictions applied to MAIL FROM.
smtpd_soft_error_limit|Errors after which smtpd slows down its replies.
smtpd_starttls_timeout|Time limit for smtpd's TLS handshake and shutdown.
smtpd_timeout|Time limit for smtpd to send a reply or receive a request.
smtpd_tls_CAfile|File of trusted CA certificates for smtpd.
smtpd_tls_CApath|Directory of trusted CA certificates for smtpd.
smtpd_tls_always_issue_session_ids|Whether smtpd issues TLS session IDs even without a session cache.
smtpd_tls_ask_ccert|Whether smtpd asks clients for a certificate.
smtpd_tls_auth_only|Whether smtpd offers AUTH only after STARTTLS.
smtpd_tls_ccert_verifydepth|Longest client certificate chain smtpd verifies.
smtpd_tls_cert_file|RSA certificate file of smtpd.
smtpd_tls_chain_files|Files of private keys with their certificate chains for smtpd.
smtpd_tls_ciphers|Lowest cipher grade smtpd uses with opportunistic TLS.
smtpd_tls_dcert_file|DSA certificate file of smtpd.
smtpd_tls_dh1024_param_file|File of DH parameters for smtpd's non-export ciphers.
smtpd_tls_dh512_param_file|File of DH parameters for smtpd's export ciphers.
smtpd_tls_dkey_file|DSA private key file of smtpd.
smtpd_tls_eccert_file|ECDSA certificate file of smtpd.
smtpd_tls_eckey_file|ECDSA private key file of smtpd.
smtpd_tls_eecdh_grade|Strength of smtpd's ephemeral elliptic-curve key exchange.
smtpd_tls_exclude_ciphers|Ciphers smtpd never uses.
smtpd_tls_fingerprint_digest|Digest algorithm of smtpd's client certificate fingerprints.
smtpd_tls_key_file|RSA private key file of smtpd.
smtpd_tls_loglevel|How much smtpd logs about TLS.
smtpd_tls_mandatory_ciphers|Lowest cipher grade smtpd uses with mandatory TLS.
smtpd_tls_mandatory_exclude_ciphers|Ciphers smtpd never uses with mandatory TLS.
smtpd_tls_mandatory_protocols|TLS protocol versions smtpd allows with mandatory TLS.
smtpd_tls_protocols|TLS protocol versions smtpd allows with opportunistic TLS.
smtpd_tls_received_header|Whether smtpd records TLS details in Received: headers.
smtpd_tls_req_ccert|Whether smtpd requires a verified client certificate.
smtpd_tls_security_level|TLS level of smtpd: none, may or encrypt.
smtpd_tls_session_cache_database|Cache of smtpd's TLS sessions.
smtpd_tls_session_cache_timeout|How long smtpd keeps a TLS session for reuse.
smtpd_tls_wrappermode|Whether smtpd speaks TLS from the start (port 465 style).
smtpd_upstream_proxy_protocol|Proxy protocol spoken by a load balancer in front of smtpd.
smtpd_upstream_proxy_timeout|How long smtpd waits for the proxy protocol header.
smtpd_use_tls|Obsolete switch offering STARTTLS in smtpd.
smtputf8_autodetect_classes|Which mail sources are checked for UTF-8 that needs SMTPUTF8.
smtputf8_enable|Whether SMTPUTF8 support is turned on.
soft_bounce|Whether permanent failures are turned into temporary ones (for testing).
stale_lock_time|Age after which a dotlock file is considered stale and removed.
stress|Set by master when the system is overloaded; "yes" or empty.
strict_7bit_headers|Whether 8-bit data in headers is rejected.
strict_8bitmime|Whether both strict_7bit_headers and strict_8bitmime_body apply.
strict_8bitmime_body|Whether 8-bit body content without an 8-bit MIME label is rejected.
strict_mailbox_ownership|Whether delivery refuses mailbox files not owned by the recipient.
strict_mime_encoding_domain|Whether invalid Content-Transfer-Encoding values are rejected.
strict_rfc821_envelopes|Whether envelope addresses must be strictly RFC 5321 compliant.
strict_smtputf8|Whether SMTPUTF8 mail may only be received with the SMTPUTF8 request.
sun_mailtool_compatibility|Obsolete switch for Sun mailtool-compatible locking.
swap_bangpath|Whether site!user is rewritten into user@site.
syslog_facility|Syslog facility of mail logging.
syslog_name|Prefix of program names in log lines.
tcp_windowsize|TCP window size for SMTP and LMTP connections; 0 keeps the system default.
tls_append_default_CA|Whether the system's default CAs are trusted besides the configured ones.
tls_config_file|OpenSSL configuration file used by TLS, "default" or "none".
tls_config_name|Application name looked up in the OpenSSL configuration file.
tls_daemon_random_bytes|Bytes of entropy tlsmgr passes to each TLS process.
tls_dane_digests|Digest algorithms for DANE TLSA records, strongest first.
tls_disable_workarounds|OpenSSL bug workarounds that are turned off.
tls_eecdh_auto_curves|Elliptic curves offered for automatic key-exchange curve selection.
tls_eecdh_strong_curve|Curve used for "strong" ephemeral ECDH.
tls_eecdh_ultra_curve|Curve used for "ultra" ephemeral ECDH.
tls_export_cipherlist|OpenSSL cipher list of the "export" grade.
tls_fast_shutdown_enable|Whether TLS connections close without waiting for the peer's close notice.
tls_high_cipherlist|OpenSSL cipher list of the "high" grade.
tls_legacy_public_key_fingerprints|Whether public-key fingerprints are computed the old way as well.
tls_low_cipherlist|OpenSSL cipher list of the "low" grade.
tls_medium_cipherlist|OpenSSL cipher list of the "medium" grade.
tls_null_cipherlist|OpenSSL cipher list of the "null" grade.
tls_preempt_cipherlist|Whether the server's cipher order wins over the client's.
tls_random_bytes|Bytes tlsmgr reads from tls_random_source each time.
tls_random_exchange_name|File where tlsmgr saves PRNG state between restarts.
tls_random_prng_update_period|How often tlsmgr saves PRNG state.
tls_random_reseed_period|Longest time between reseeds of tlsmgr's PRNG.
tls_random_source|External entropy source for tlsmgr.
tls_server_sni_maps|Tables of keys and certificates selected by SNI name.
tls_session_ticket_cipher|Cipher protecting TLS session tickets.
tls_ssl_options|OpenSSL options turned on for every TLS connection.
tls_wildcard_matches_multiple_labels|Whether a certificate wildcard may match several name labels.
transport_maps|Tables that map recipients to a transport and next hop.
transport_retry_time|How often the queue manager retries a transport that failed.
trigger_timeout|Time limit for sending a wake-up trigger to a daemon.
undisclosed_recipients_header|Header added when a message has no recipient headers.
unknown_address_reject_code|SMTP code when a sender or recipient domain cannot be found.
unknown_address_tempfail_action|What reject_unknown_sender_domain and reject_unknown_recipient_domain do on a temporary failure.
unknown_client_reject_code|SMTP code when a client's host name cannot be found.
unknown_helo_hostname_tempfail_action|What reject_unknown_helo_hostname does on a temporary failure.
unknown_hostname_reject_code|SMTP code when the HELO name cannot be found.
unknown_local_recipient_reject_code|SMTP code when a local recipient is unknown.
unknown_relay_recipient_reject_code|SMTP code when a relay recipient is unknown.
unknown_virtual_alias_reject_code|SMTP code when a virtual alias recipient is unknown.
unknown_virtual_mailbox_reject_code|SMTP code when a virtual mailbox recipient is unknown.
unverified_recipient_defer_code|SMTP code when recipient verification fails temporarily.
unverified_recipient_reject_code|SMTP code when a recipient address does not verify.
unverified_recipient_reject_reason|Reply text when a recipient address does not verify.
unverified_recipient_tempfail_action|What reject_unverified_recipient does when verification is undecided.
unverified_sender_defer_code|SMTP code when sender verification fails temporarily.
unverified_sender_reject_code|SMTP code when a sender address does not verify.
unverified_sender_reject_reason|Reply text when a sender address does not verify.
unverified_sender_tempfail_action|What reject_unverified_sender does when verification is undecided.
verp_delimiter_filter|Characters allowed as VERP delimiters.
virtual_alias_address_length_limit|Longest address virtual alias expansion may produce.
virtual_alias_domains|Domains whose addresses are all aliases to other addresses.
virtual_alias_expansion_limit|Most addresses one virtual alias expansion may produce.
virtual_alias_maps|Tables that redirect addresses to other addresses.
virtual_alias_recursion_limit|Deepest nesting of virtual alias expansion.
virtual_delivery_status_filter|Replacement tables applied to delivery status texts of the virtual agent.
virtual_gid_maps|Tables of group IDs for virtual mailbox deliveries.
virtual_mailbox_base|Prefix of every virtual mailbox path.
virtual_mailbox_domains|Domains delivered by virtual_transport.
virtual_mailbox_limit|Largest size, in bytes, of a virtual mailbox file; 0 means no limit.
virtual_mailbox_lock|Locking methods used for virtual mailbox delivery.
virtual_mailbox_maps|Tables of virtual mailbox paths per recipient.
virtual_minimum_uid|Lowest user ID the virtual agent delivers as.
virtual_transport|Transport for domains in virtual_mailbox_domains.
virtual_uid_maps|Tables of user IDs for virtual mailbox deliveries.
"""

EXTRA_DESCRIPTIONS = {
    "tlsproxy_client_loglevel_parameter": "Name of the parameter whose value sets tlsproxy's client-side TLS log level.",
    "tlsproxy_service_name": "master.cf name of the tlsproxy service.",
    "tlsproxy_watchdog_timeout": "How long tlsproxy may be stuck before its watchdog kills it.",
}


def read_defaults(path):
    if path is None:
        with tempfile.TemporaryDirectory() as empty:
            for name in ("main.cf", "master.cf"):
                open(os.path.join(empty, name), "w").close()
            text = subprocess.run(["/usr/sbin/postconf", "-c", empty, "-d"], check=True,
                                  capture_output=True, text=True).stdout
    else:
        with open(path) as f:
            text = f.read()
    rows = []
    for line in text.splitlines():
        if " = " in line:
            name, value = line.split(" = ", 1)
        else:
            name, value = line.rstrip(" ="), ""
        rows.append((name, value))
    return rows


def literal_type(value):
    if value in ("yes", "no"):
        return "boolean", None
    match = re.fullmatch(r"\d+([smhdw])", value)
    if match:
        return "time", match.group(1)
    if re.fullmatch(r"\d+", value):
        return "integer", None
    return None


def classify(name, value, defaults, seen=()):
    if name in SIZE:
        return "size", None
    if name in STRING:
        return "string", None
    found = literal_type(value)
    if found:
        return found
    # $name or ${name}: the type of what it names.
    match = re.fullmatch(r"\$\{?(\w+)\}?", value)
    if match and match.group(1) in defaults and match.group(1) not in seen:
        target = match.group(1)
        return classify(target, defaults[target], defaults, seen + (name,))
    # ${...}u: a conditional number followed by a time unit.
    match = re.fullmatch(r"\$\{.*\}([smhdw])", value)
    if match:
        return "time", match.group(1)
    # Conditionals whose every literal outcome (the {...} after the "?") is yes/no, or a
    # number; outcomes that are $references are left to be checked at use time.
    if value.startswith("${") and "?" in value:
        outcomes = [o.strip() for o in re.findall(r"\{([^{}$]*)\}", value[value.index("?"):])]
        outcomes = [o for o in outcomes if o]
        if outcomes and all(o in ("yes", "no") for o in outcomes):
            return "boolean", None
        if outcomes and all(re.fullmatch(r"\d+", o) for o in outcomes):
            return "integer", None
    return "string", None


def descriptions(rows):
    table = {}
    for line in DESCRIPTIONS_TEXT.strip().splitlines():
        name, text = line.split("|", 1)
        table[name] = text
    table.update(EXTRA_DESCRIPTIONS)
    defaults = dict(rows)
    for name, value in rows:
        if name in table:
            continue
        if name.startswith("lmtp_") and "smtp_" + name[5:] in table:
            text = table["smtp_" + name[5:]]
            text = text.replace("HELO or EHLO", "LHLO").replace("HELO/EHLO", "LHLO")
            text = text.replace("SMTP client", "LMTP client").replace("EHLO", "LHLO")
            text = text.replace("SMTP command", "LMTP command")
            table[name] = text
        elif name.startswith("tlsproxy_"):
            refs = re.findall(r"\$\{?(\w+)", value)
            if not refs:
                raise SystemExit(f"no description for {name}")
            side = "client" if name.startswith("tlsproxy_client_") else "server"
            table[name] = f"Like {refs[-1]}, for the {side} side of tlsproxy."
        elif name.endswith("_service_name"):
            table[name] = f"master.cf name of the {value} service."
        else:
            raise SystemExit(f"no description for {name}")
    return table


def cxx_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Parameters whose values Postfix never expands: they hold text with $ that is expanded
# later, per message or per client, not at configuration time.
RAW = {
    "command_execution_directory", "default_rbl_reply", "forward_path", "luser_relay",
    "mailbox_command", "postscreen_expansion_filter", "postscreen_reject_footer",
    "smtpd_expansion_filter", "smtpd_reject_footer",
}


# Postern's own parameters (postern_*): Postfix has no default for them, so their rows are
# written here whole and merged into the table in name order.
POSTERN_ROWS = {
    "postern_dns_attempts": '{"postern_dns_attempts", "2", integer, 0, 1, 100, nullptr, '
                            '"Postern: how many times each DNS query is sent to each server '
                            'before it fails as temporary."},',
    "postern_dns_servers": '{"postern_dns_servers", "", string, 0, 0, 0, nullptr, "Postern: DNS '
                           'servers for every lookup (address, address:port, [address]:port); '
                           'empty means /etc/resolv.conf."},',
    "postern_dns_timeout": '{"postern_dns_timeout", "5s", time, \'s\', 1, 3600, nullptr, '
                           '"Postern: how long one DNS query waits for one server\'s answer."},',
}


def main(argv):
    rows = read_defaults(argv[1] if len(argv) > 1 else None)
    rows += [(name, None) for name in POSTERN_ROWS]
    rows.sort(key=lambda row: row[0].encode())
    postfix_rows = [row for row in rows if row[0] not in POSTERN_ROWS]
    defaults = dict(postfix_rows)
    described = descriptions(postfix_rows)
    print("// name, default (Postfix 3.7, unexpanded), type, time unit, min, max, computed, "
          "description, raw (never expanded)")
    print("// Generated by tools/dev/gen_parameter_table.py from `postconf -d` of Postfix 3.7.")
    for name, value in rows:
        if name in POSTERN_ROWS:
            print(POSTERN_ROWS[name])
            continue
        kind, unit = classify(name, value, defaults)
        computed = COMPUTED.get(name)
        if computed:
            value = ""
        unit_text = f"'{unit}'" if unit else "0"
        print(f"{{{cxx_string(name)}, {cxx_string(value)}, {kind}, {unit_text}, 0, 0, "
              f"{computed or 'nullptr'}, {cxx_string(described[name])}"
              f"{', true' if name in RAW else ''}}},")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
