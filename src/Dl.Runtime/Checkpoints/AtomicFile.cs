using System.Diagnostics;
using System.Globalization;

namespace Dl.Checkpoints;

/// <summary>
/// An atomic file write: the data goes to a temporary file next to the target, <c>.NAME.PID.RANDOM.tmp</c>, which is
/// flushed to disk and then renamed over the target, so readers see the old file or the new one, never a torn one.
/// </summary>
/// <remarks>A process killed while writing leaves its temporary file behind. Creating the next temporary file of the
/// same target removes such leftovers: those whose process (the PID in the name) no longer runs on this machine, and,
/// whatever the PID says, those unwritten for an hour (a PID reused by an unrelated process; a save in progress keeps
/// writing). A save running in another live process keeps its file. Errors name the target, not the temporary file.</remarks>
internal sealed class AtomicFile : IDisposable
{
    /// <summary>Leftovers unwritten for this long are removed even when their PID is running.</summary>
    internal static readonly TimeSpan StaleAge = TimeSpan.FromHours(1);

    private readonly string _target, _temp, _what;
    private bool _committed;

    private AtomicFile(string target, string temp, string what, FileStream stream)
    {
        _target = target;
        _temp = temp;
        _what = what;
        Stream = stream;
    }

    /// <summary>The temporary file being written.</summary>
    public FileStream Stream { get; }

    /// <summary>Removes stale temporary files of <paramref name="path"/>, then creates a new one; <paramref name="what"/>
    /// starts error messages (e.g. "checkpoint").</summary>
    public static AtomicFile Create(string path, string what)
    {
        string full = Path.GetFullPath(path);
        string folder = CheckFolder(path, full, what);
        RemoveStale(full);
        string temp = TempName(full);
        try
        {
            return new AtomicFile(full, temp, what, new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failed(what, path, $"a file cannot be created in '{folder}' ({e.GetType().Name})", e);
        }
    }

    /// <summary>Checks, before any work is done, that <paramref name="path"/> could be written: its folder exists and
    /// a file can be created there (a probe, removed at once).</summary>
    public static void CheckWritable(string path, string what)
    {
        string full = Path.GetFullPath(path);
        string folder = CheckFolder(path, full, what);
        if (Directory.Exists(full)) throw Failed(what, path, "it is a folder", null);
        string probe = TempName(full);
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failed(what, path, $"a file cannot be created in '{folder}' ({e.GetType().Name})", e);
        }
    }

    /// <summary>Flushes the data to disk and renames the temporary file over the target.</summary>
    public void Commit()
    {
        try
        {
            Stream.Flush(flushToDisk: true);
            Stream.Dispose();
            File.Move(_temp, _target, overwrite: true);
            _committed = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failed(_what, _target, e.Message, e);
        }
    }

    /// <summary>Removes the temporary file unless committed (the write failed or was abandoned).</summary>
    public void Dispose()
    {
        Stream.Dispose();
        if (_committed) return;
        try { File.Delete(_temp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the original error matters more */ }
    }

    private static string CheckFolder(string path, string full, string what)
    {
        string folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Cannot save {what} '{path}': the folder '{folder}' does not exist.");
        return folder;
    }

    private static Exception Failed(string what, string path, string reason, Exception? inner) =>
        inner is UnauthorizedAccessException
            ? new UnauthorizedAccessException($"Cannot save {what} '{path}': {reason}.", inner)
            : new IOException($"Cannot save {what} '{path}': {reason}.", inner);

    private static string TempName(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!,
            string.Create(CultureInfo.InvariantCulture, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp"));

    /// <summary>Deletes <c>.NAME.PID.RANDOM.tmp</c> files of <paramref name="full"/> whose process is gone or which are
    /// older than <see cref="StaleAge"/>; anything that cannot be checked or deleted is left alone.</summary>
    internal static int RemoveStale(string full)
    {
        string folder = Path.GetDirectoryName(full)!, prefix = "." + Path.GetFileName(full) + ".";
        int removed = 0;
        try
        {
            foreach (string file in Directory.EnumerateFiles(folder, ".*.tmp"))
            {
                string name = Path.GetFileName(file);
                if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                string[] middle = name[prefix.Length..^".tmp".Length].Split('.');
                if (middle.Length != 2 || middle[1].Length != 32 || !int.TryParse(middle[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                    continue;
                if (IsRunning(pid) && DateTime.UtcNow - File.GetLastWriteTimeUtc(file) < StaleAge) continue;
                try
                {
                    File.Delete(file);
                    removed++;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* another save removed it, or no right to */ }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* cleanup is best effort */ }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return e is not ArgumentException;   // ArgumentException: no such process; anything else: assume it runs
        }
    }
}
