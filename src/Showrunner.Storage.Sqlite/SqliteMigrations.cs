using System.Globalization;
using System.Reflection;
using Microsoft.Data.Sqlite;

namespace Showrunner.Storage.Sqlite;

/// <summary>
/// Versioned schema migrations: embedded scripts named <c>NNNN_name.sql</c>, applied in order,
/// each in its own transaction together with its row in <c>schema_migrations</c>. A database
/// written by a newer version (a migration this build does not know) is refused.
/// </summary>
internal static class SqliteMigrations
{
    internal sealed record Migration(int Version, string Name, string Sql);

    private const string ResourcePrefix = "Showrunner.Storage.Sqlite.Migrations.";

    public static IReadOnlyList<Migration> All { get; } = Load();

    private static List<Migration> Load()
    {
        var assembly = typeof(SqliteMigrations).Assembly;
        var migrations = new List<Migration>();
        foreach (string resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }
            string file = resource[ResourcePrefix.Length..^".sql".Length];
            int version = int.Parse(file[..4], NumberStyles.None, CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new Migration(version, file[5..], reader.ReadToEnd()));
        }
        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (int i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException($"Migration versions must be 1, 2, 3, … without gaps; found {migrations[i].Version} at position {i + 1}.");
            }
        }
        return migrations;
    }

    /// <summary>Applies every migration not yet applied; returns the resulting schema version.</summary>
    public static int Apply(SqliteConnection connection, TimeProvider time)
    {
        Execute(connection, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
        int current;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
            current = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        if (current > All.Count)
        {
            throw new StoreConfigurationException("schema_too_new",
                $"The data directory has schema version {current}, but this build knows only up to {All.Count}. Use a newer Showrunner.");
        }
        foreach (var migration in All.Where(m => m.Version > current))
        {
            using var transaction = connection.BeginTransaction();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = migration.Sql;
                command.ExecuteNonQuery();
            }
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($v, $n, $t)";
                command.Parameters.AddWithValue("$v", migration.Version);
                command.Parameters.AddWithValue("$n", migration.Name);
                command.Parameters.AddWithValue("$t", time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
                command.ExecuteNonQuery();
            }
            transaction.Commit();
            current = migration.Version;
        }
        return current;
    }

    internal static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
