namespace Dl.Tests;

/// <summary>The test assembly's entry point (GenerateProgramFile is off): the test runner never calls it; a test that
/// needs a second process runs <c>dotnet Dl.Models.Tests.dll COMMAND ...</c> (TrainerModelTests' resume check).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["resume-trainer", string checkpoint, string output])
        {
            TrainerModelTests.ResumeInChild(checkpoint, output);
            return 0;
        }
        Console.Error.WriteLine("Dl.Models.Tests: run the tests with 'dotnet test'; the only command is: resume-trainer CHECKPOINT OUTPUT");
        return 2;
    }
}
