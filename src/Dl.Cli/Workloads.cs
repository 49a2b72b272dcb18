using Dl.Models;

namespace Dl.Cli;

/// <summary>The workloads of WORKLOADS.md that Dl.Models implements, and how to build each model in each engine.</summary>
public static class Workloads
{
    /// <summary>One workload: its id, the batch it is defined at (0 = any), and whether it has integer labels.</summary>
    public sealed record Workload(string Id, int FixedBatch, int DefaultBatch, ModelDescription Description);

    public static readonly Workload[] All =
    [
        new("xor_2_2_1", 4, 4, XorNet.StaticDescription),
        new("mlp_784_128_10", 0, 32, FashionMlp.StaticDescription),
        new("mlp_784_1024_512_10", 0, 32, WideMlp.StaticDescription),
        new("cnn_lenetish", 0, 32, LenetCnn.StaticDescription),
        new("lstm_32_128_t35", 0, 32, LstmT35.StaticDescription),
        new("attn_s64_d64_h4", 0, 32, AttnS64.StaticDescription),
        new("dgex_943_3000_9520", 200, 200, Dgex.StaticDescription),
    ];

    /// <summary>Workloads of WORKLOADS.md that have no model in Dl.Models yet.</summary>
    public static readonly string[] NotYetImplemented = [];

    public static Workload Find(string id)
    {
        foreach (Workload w in All)
        {
            if (w.Id == id) return w;
        }
        if (NotYetImplemented.Contains(id))
            throw new UsageException($"'bench': workload '{id}' has no model in Dl.Models yet; available: {string.Join(", ", All.Select(w => w.Id))}.");
        throw new UsageException($"'bench': unknown workload '{id}'; expected one of {string.Join(", ", All.Select(w => w.Id))}.");
    }

    /// <summary>The model of <paramref name="workload"/> in <paramref name="engine"/> (<c>generated</c> or <c>dynamic</c>).</summary>
    public static IModel Create(Workload workload, string engine, ulong seed, int maxBatch, int threads)
    {
        bool generated = engine == "generated";
        var options = new ModelOptions { Seed = seed, MaxBatch = maxBatch, Threads = threads };
        return workload.Id switch
        {
            "xor_2_2_1" => generated ? new XorNet(options) : Dl.Dynamic.Dynamic.Create<XorNet>(seed),
            "mlp_784_128_10" => generated ? new FashionMlp(options) : Dl.Dynamic.Dynamic.Create<FashionMlp>(seed),
            "mlp_784_1024_512_10" => generated ? new WideMlp(options) : Dl.Dynamic.Dynamic.Create<WideMlp>(seed),
            "cnn_lenetish" => generated ? new LenetCnn(options) : Dl.Dynamic.Dynamic.Create<LenetCnn>(seed),
            "lstm_32_128_t35" => generated ? new LstmT35(options) : Dl.Dynamic.Dynamic.Create<LstmT35>(seed),
            "attn_s64_d64_h4" => generated ? new AttnS64(options) : Dl.Dynamic.Dynamic.Create<AttnS64>(seed),
            "dgex_943_3000_9520" => generated ? new Dgex(options) : Dl.Dynamic.Dynamic.Create<Dgex>(seed),
            _ => throw new UsageException($"'bench': unknown workload '{workload.Id}'."),
        };
    }
}
