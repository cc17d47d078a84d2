package dev.procpool.core.internal.store;

import dev.procpool.AttemptRecord;
import dev.procpool.FailureReason;
import dev.procpool.RemoteError;
import dev.procpool.TaskState;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** Reading rows into records and binding nullable values: the column lists and their mapping in one place. */
final class Rows {
    private Rows() {
    }

    /** The hot table's columns {@link #hotTask} reads. */
    static final String HOT_COLUMNS = "id, type, caps, payload, priority, rank, timeout_ms, retry_policy, "
            + "affinity_key, submitted_at, state, attempt, not_before, lease_owner, lease_expires, cancel_requested";

    /** The ended table's columns {@link #endedTask} reads. */
    static final String ENDED_READ_COLUMNS = "id, type, caps, payload, priority, rank, timeout_ms, retry_policy, "
            + "affinity_key, submitted_at, state, attempt, result, reason, message, ended_at, expires_at, host, "
            + "worker_id";

    /** The attempt table's columns {@link #attempt} reads. */
    static final String ATTEMPT_COLUMNS = "attempt, host, worker_id, worker_pid, reason, detail, exit_code, signal, "
            + "duration_ms, peak_rss, output_tail, error_class, error_message, error_stack, ended_at";

    static StoredTask hotTask(ResultSet row) throws SQLException {
        String state = row.getString("state");
        int attempts = row.getInt("attempt");
        TaskState taskState = switch (state) {
            case "RUNNING" -> TaskState.RUNNING;
            case "SCHEDULED" -> attempts > 0 ? TaskState.RETRY_WAIT : TaskState.SCHEDULED;
            default -> TaskState.QUEUED;
        };
        boolean running = taskState == TaskState.RUNNING;
        return new StoredTask(row.getString("id"), row.getString("type"), StoreJson.stringSet(row.getString("caps")),
                row.getString("payload"), row.getInt("priority"), row.getLong("rank"),
                millis(row, "timeout_ms"), StoreJson.retryPolicy(row.getString("retry_policy")),
                row.getString("affinity_key"), instant(row, "submitted_at"), taskState, attempts,
                running ? null : instant(row, "not_before"), row.getString("lease_owner"),
                instant(row, "lease_expires"), row.getBoolean("cancel_requested"), null, null, null, null, null,
                null, null, List.of());
    }

    static StoredTask endedTask(ResultSet row) throws SQLException {
        String reason = row.getString("reason");
        return new StoredTask(row.getString("id"), row.getString("type"), StoreJson.stringSet(row.getString("caps")),
                row.getString("payload"), row.getInt("priority"), row.getLong("rank"),
                millis(row, "timeout_ms"), StoreJson.retryPolicy(row.getString("retry_policy")),
                row.getString("affinity_key"), instant(row, "submitted_at"), TaskState.valueOf(row.getString("state")),
                row.getInt("attempt"), null, null, null, false, row.getString("result"),
                reason == null ? null : reason(reason), row.getString("message"), instant(row, "ended_at"),
                instant(row, "expires_at"), row.getString("host"), row.getString("worker_id"), List.of());
    }

    static StoredAttempt attempt(ResultSet row) throws SQLException {
        String errorClass = row.getString("error_class");
        RemoteError error = errorClass == null ? null
                : new RemoteError(errorClass, row.getString("error_message"), row.getString("error_stack"));
        AttemptRecord record = new AttemptRecord(row.getInt("attempt"), row.getString("worker_id"),
                row.getLong("worker_pid"), reason(row.getString("reason")), row.getString("detail"),
                integer(row, "exit_code"), integer(row, "signal"), Duration.ofMillis(row.getLong("duration_ms")),
                row.getLong("peak_rss"), StoreJson.stringList(row.getString("output_tail")), error);
        return new StoredAttempt(row.getString("host"), record, instant(row, "ended_at"));
    }

    /** A reason stored by this or a newer version; an unknown one reads as the closest general reason. */
    static FailureReason reason(String name) {
        try {
            return FailureReason.valueOf(name);
        } catch (IllegalArgumentException e) {
            return FailureReason.WORKER_CRASHED;
        }
    }

    static Instant instant(ResultSet row, String column) throws SQLException {
        long millis = row.getLong(column);
        return row.wasNull() ? null : Instant.ofEpochMilli(millis);
    }

    static Duration millis(ResultSet row, String column) throws SQLException {
        long millis = row.getLong(column);
        return row.wasNull() ? null : Duration.ofMillis(millis);
    }

    static Integer integer(ResultSet row, String column) throws SQLException {
        int value = row.getInt(column);
        return row.wasNull() ? null : value;
    }

    static void setLong(PreparedStatement statement, int index, Long value) throws SQLException {
        if (value == null) {
            statement.setNull(index, Types.BIGINT);
        } else {
            statement.setLong(index, value);
        }
    }

    static void setInt(PreparedStatement statement, int index, Integer value) throws SQLException {
        if (value == null) {
            statement.setNull(index, Types.INTEGER);
        } else {
            statement.setInt(index, value);
        }
    }
}
