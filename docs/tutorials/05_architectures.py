# %% [markdown]
# # 05_architectures

# %%
print(1)
